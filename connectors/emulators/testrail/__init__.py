"""The TestRail API v2 emulator (`casewright sandbox` serves it under /testrail)."""
