"""How casewright reaches live Jira and Confluence: one JiraAccess, built from the settings
(`JiraAccess.from_settings`) or directly, that makes the readers and the writer.

A run receives it in its Services (agent/context.py); connection details and secrets are never
put into a run's configuration, which is saved to disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.atlassian_http import RetryPolicy
from connectors.confluence_source import ConfluenceSource
from connectors.errors import CasewrightError
from connectors.jira_source import JiraSource
from connectors.jira_writer import JiraWriter, writer_for
from connectors.workspace import Workspace


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter else str(value)


@dataclass
class JiraAccess:
    url: str
    email: str | None = None
    api_token: str | None = field(default=None, repr=False)
    pat: str | None = field(default=None, repr=False)
    deployment: str = "auto"
    ac_field_name: str = "Acceptance Criteria"
    test_issue_type: str = "Test"
    test_link_type: str = "Tests"
    epic_link_mode: str = "auto"
    retire_label: str = "casewright-obsolete"
    retire_status: str | None = None
    confluence_url: str | None = None
    confluence_email: str | None = None
    confluence_api_token: str | None = field(default=None, repr=False)
    confluence_pat: str | None = field(default=None, repr=False)
    confluence_cql: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(cls, settings: Any, *, require_jira: bool = True) -> "JiraAccess":
        """Jira (and Confluence) as the settings describe them; without `require_jira`, a
        Confluence-only access when JIRA_URL is unset."""
        if not settings.jira_url and require_jira:
            raise CasewrightError("JIRA_URL is not set; set it (and JIRA_EMAIL + JIRA_API_TOKEN or JIRA_PAT) "
                                  "to read or write live Jira, or use --source FILE")
        return cls(
            url=settings.jira_url or "", email=settings.jira_email, api_token=_secret(settings.jira_api_token),
            pat=_secret(settings.jira_pat), deployment=settings.jira_deployment,
            ac_field_name=settings.ac_field_name, test_issue_type=settings.test_issue_type,
            test_link_type=settings.test_link_type, epic_link_mode=settings.epic_link_mode,
            retire_label=settings.retire_label, retire_status=settings.retire_status or None,
            confluence_url=settings.confluence_url, confluence_email=settings.confluence_email,
            confluence_api_token=_secret(settings.confluence_api_token), confluence_pat=_secret(settings.confluence_pat),
            confluence_cql=settings.confluence_cql,
        )

    def confluence(self) -> ConfluenceSource | None:
        if not self.confluence_url:
            return None
        return ConfluenceSource(self.confluence_url, email=self.confluence_email, api_token=self.confluence_api_token,
                                pat=self.confluence_pat, retry=self.retry)

    def source(self) -> JiraSource:
        return JiraSource(self.url, email=self.email, api_token=self.api_token, pat=self.pat,
                          deployment=self.deployment, ac_field_name=self.ac_field_name,
                          test_issue_type=self.test_issue_type, epic_link_mode=self.epic_link_mode,
                          confluence=self.confluence(), confluence_cql=self.confluence_cql, retry=self.retry)

    def writer(self) -> JiraWriter:
        return writer_for(self.url, email=self.email, api_token=self.api_token, pat=self.pat,
                          deployment=self.deployment, retry=self.retry)

    def workspace(self, jql: str | None = None, cql: str | None = None, *, origin: str = "live Jira/Confluence"
                  ) -> Workspace:
        """A Workspace read live: the issues matching `jql` from Jira, the pages matching `cql`
        from Confluence (either may be None)."""
        issues: list[dict[str, Any]] = []
        fields: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        jira_meta: dict[str, Any] = {}
        confluence_meta: dict[str, Any] = {}
        if jql:
            source = self.source()
            issues, fields = source.search(jql), source.fields()
            jira_meta = {"baseUrl": self.url}
        if cql:
            confluence = self.confluence()
            if confluence is None:
                raise CasewrightError("CONFLUENCE_URL is not set; set it (and CONFLUENCE_EMAIL + "
                                      "CONFLUENCE_API_TOKEN or CONFLUENCE_PAT) to read rule pages by CQL")
            pages = confluence.pages_by_cql(cql)
            confluence_meta = {"baseUrl": confluence.url}
        return Workspace(issues=issues, fields=fields, pages=pages, jira=jira_meta, confluence=confluence_meta,
                         origin=origin)
