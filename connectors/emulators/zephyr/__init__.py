"""The Zephyr Scale Cloud REST API v2 emulator (`casewright sandbox` serves it under /zephyr/v2)."""
