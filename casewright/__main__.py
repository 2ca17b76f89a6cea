from casewright.cli import main

main()
