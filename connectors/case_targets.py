"""How casewright reaches Xray, Zephyr Scale and TestRail: one CaseTargets, built from the settings
(`CaseTargets.from_settings`) or directly, that makes each tool's connector. Like JiraAccess, it is
handed to a run in its Services, never saved with a run (it holds secrets).

Xray is Xray Cloud (GraphQL, XRAY_URL) when Jira is Cloud and Xray Server (Jira's own REST API)
when Jira is Data Center/Server, as the Jira connection reports its deployment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.atlassian_http import RetryPolicy
from connectors.jira_access import JiraAccess
from connectors.jira_writer import JiraWriter
from connectors.testrail import TestRailCases
from connectors.xray_cloud import XrayCloud
from connectors.xray_server import XrayServer
from connectors.zephyr import ZephyrScale


def _secret(value: Any) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter else (None if value is None else str(value))


def _per_epic(template: str | None, epic_key: str) -> str | None:
    return template.replace("{epic}", epic_key) if template else None


@dataclass
class CaseTargets:
    xray_url: str | None = None
    xray_client_id: str | None = None
    xray_client_secret: str | None = field(default=None, repr=False)
    xray_folder: str | None = None
    xray_test_set: bool = False
    zephyr_url: str | None = None
    zephyr_api_token: str | None = field(default=None, repr=False)
    zephyr_folder: str | None = None
    zephyr_identity_field: str = "casewright"
    zephyr_retired_status: str = "Deprecated"
    testrail_url: str | None = None
    testrail_email: str | None = None
    testrail_api_key: str | None = field(default=None, repr=False)
    testrail_project_id: int | None = None
    testrail_suite_id: int | None = None
    testrail_identity_field: str = "casewright"
    testrail_retired_section: str = "Retired (casewright)"
    test_link_type: str = "Tests"
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(cls, settings: Any) -> "CaseTargets":
        return cls(
            xray_url=settings.xray_url, xray_client_id=settings.xray_client_id,
            xray_client_secret=_secret(settings.xray_client_secret), xray_folder=settings.xray_folder,
            xray_test_set=settings.xray_test_set, zephyr_url=settings.zephyr_url,
            zephyr_api_token=_secret(settings.zephyr_api_token), zephyr_folder=settings.zephyr_folder,
            zephyr_identity_field=settings.zephyr_identity_field, zephyr_retired_status=settings.zephyr_retired_status,
            testrail_url=settings.testrail_url, testrail_email=settings.testrail_email,
            testrail_api_key=_secret(settings.testrail_api_key), testrail_project_id=settings.testrail_project_id,
            testrail_suite_id=settings.testrail_suite_id, testrail_identity_field=settings.testrail_identity_field,
            testrail_retired_section=settings.testrail_retired_section, test_link_type=settings.test_link_type)

    def xray(self, jira: JiraAccess | JiraWriter, project_key: str) -> XrayCloud | XrayServer:
        """Xray Cloud or Xray Server, as the Jira connection's deployment says."""
        writer = jira.writer() if isinstance(jira, JiraAccess) else jira
        if getattr(writer.client, "deploymentType", None) == "Cloud":
            return XrayCloud(self.xray_url, self.xray_client_id, self.xray_client_secret, jira=writer,
                             project_key=project_key, link_type=self.test_link_type, retry=self.retry)
        return XrayServer(writer, project_key=project_key, link_type=self.test_link_type)

    def xray_folder_for(self, epic_key: str) -> str | None:
        return _per_epic(self.xray_folder, epic_key)

    def zephyr(self, project_key: str) -> ZephyrScale:
        return ZephyrScale(self.zephyr_url, self.zephyr_api_token, project_key=project_key,
                           identity_field=self.zephyr_identity_field, retired_status=self.zephyr_retired_status,
                           retry=self.retry)

    def zephyr_folder_for(self, epic_key: str) -> str | None:
        return _per_epic(self.zephyr_folder, epic_key)

    def testrail(self) -> TestRailCases:
        return TestRailCases(self.testrail_url, self.testrail_email, self.testrail_api_key,
                             project_id=self.testrail_project_id, suite_id=self.testrail_suite_id,
                             identity_field=self.testrail_identity_field,
                             retired_section=self.testrail_retired_section, retry=self.retry)
