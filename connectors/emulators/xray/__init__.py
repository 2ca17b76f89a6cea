"""The Xray emulators: Xray Cloud's authenticate + GraphQL API (`casewright sandbox` serves it under
/xray) and Xray Data Center's REST steps API on the Jira emulator (/rest/raven/1.0/...)."""
