"""Shared plumbing for the Jira and Confluence connectors (and the Xray, Zephyr Scale and TestRail
ones): client construction, bounded retries and turning HTTP failures into CasewrightErrors a
person can act on. Failures of the `requests`-based clients (jira, atlassian-python-api,
testrail-api) and of httpx are handled alike.

Retries (all bounded by RetryPolicy.attempts):
- 429: wait exactly the integer `Retry-After` seconds (capped by max_wait), else back off;
- 5xx and connection errors/timeouts: exponential backoff from `backoff_s`;
- 401/403: never retried; raise with the settings to fix;
- other 4xx: raised at once with the server's own message.

The clients' built-in retry loops are switched off (max_retries=0 / no backoff) so that this
module is the one place that decides how long to wait.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import httpx
import requests

from connectors.errors import CasewrightError

log = logging.getLogger(__name__)
T = TypeVar("T")


class AtlassianError(CasewrightError):
    """A request Jira or Confluence refused or could not answer, described for a person."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(AtlassianError):
    pass


class TransientError(AtlassianError):
    """Still failing after every retry (429, 5xx or the connection)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5          # total tries, first included
    backoff_s: float = 1.0     # first wait for 5xx / connection errors, doubled each time
    max_backoff_s: float = 30.0
    max_wait_s: float = 120.0  # cap on a server's Retry-After

    def backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1)))


@dataclass(frozen=True)
class Service:
    """Which product a call went to, and which settings a person fixes when auth fails."""

    name: str
    credential_hint: str


JIRA = Service("Jira", "check JIRA_EMAIL + JIRA_API_TOKEN or JIRA_PAT")
CONFLUENCE = Service("Confluence", "check CONFLUENCE_EMAIL + CONFLUENCE_API_TOKEN or CONFLUENCE_PAT")


def _status_and_response(exc: BaseException) -> tuple[int | None, Any]:
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    if status is None and response is not None:
        status = getattr(response, "status_code", None)
    reason = getattr(exc, "reason", None)  # atlassian ApiError wraps the HTTPError in .reason
    if status is None and reason is not None:
        response = getattr(reason, "response", None)
        status = getattr(response, "status_code", None)
    return status, response


def _server_message(exc: BaseException, response: Any) -> str:
    text = getattr(exc, "text", None)
    if response is not None:
        try:
            body = response.json()
            msgs = list(body.get("errorMessages") or []) + [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()
                                                           if isinstance(body.get("errors"), dict)]
            if body.get("message"):
                msgs.append(str(body["message"]))
            if isinstance(body.get("error"), str):  # TestRail's and Xray's error bodies
                msgs.append(body["error"])
            if msgs:
                return "; ".join(msgs)
        except Exception:  # noqa: BLE001
            pass
        text = text or getattr(response, "text", "")
    return " ".join(str(text or exc).split())[:300]


def _retry_after(response: Any) -> float | None:
    value = (getattr(response, "headers", None) or {}).get("Retry-After") if response is not None else None
    if value is None:
        return None
    try:
        return float(int(str(value).strip()))
    except ValueError:
        return None


def call(fn: Callable[[], T], *, what: str, service: Service, policy: RetryPolicy,
         url: str = "", sleep: Callable[[float], None] = time.sleep) -> T:
    """Run one client call with bounded retries; raise AtlassianError subclasses on failure."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except (requests.ConnectionError, requests.Timeout, httpx.TransportError) as exc:
            if attempt >= policy.attempts:
                raise TransientError(
                    f"{service.name} at {url or 'the configured URL'} could not be reached while trying to "
                    f"{what} ({type(exc).__name__}, {attempt} attempts); check the URL and the network"
                ) from None
            wait = policy.backoff(attempt)
            log.warning("%s: connection error while trying to %s; retrying in %.1fs", service.name, what, wait)
            sleep(wait)
        except CasewrightError:
            raise
        except Exception as exc:  # noqa: BLE001 - JIRAError, HTTPError, atlassian ApiError
            status, response = _status_and_response(exc)
            if status is None:
                raise
            if status in (401, 403):
                word = "rejected the credentials" if status == 401 else "refused access"
                raise AuthError(f"{service.name} {word} ({status}) while trying to {what}: {service.credential_hint}"
                                + ("" if status == 401 else " and the account's permissions"), status) from None
            if status == 429 or status >= 500:
                if attempt >= policy.attempts:
                    raise TransientError(
                        f"{service.name} kept answering {status} while trying to {what} ({attempt} attempts): "
                        f"{_server_message(exc, response)}; try again later", status,
                        _retry_after(response) if status == 429 else None) from None
                wait = _retry_after(response) if status == 429 else None
                wait = min(policy.max_wait_s, wait) if wait is not None else policy.backoff(attempt)
                log.warning("%s answered %s while trying to %s; retrying in %.1fs", service.name, status, what, wait)
                sleep(wait)
                continue
            raise AtlassianError(f"{service.name} refused to {what} ({status}): {_server_message(exc, response)}",
                                 status) from None


def jira_client(url: str, *, email: str | None = None, api_token: str | None = None, pat: str | None = None,
                timeout: float = 30.0):  # noqa: ANN201 - jira.JIRA
    """A `jira.JIRA` client with its own retry loop switched off (ours is in `call`)."""
    from jira import JIRA

    if not url:
        raise CasewrightError("JIRA_URL is not set; point it at your Jira (e.g. https://yourteam.atlassian.net)")
    kwargs: dict[str, Any] = {"server": url.rstrip("/"), "get_server_info": False, "max_retries": 0,
                              "timeout": timeout, "options": {"check_update": False}}
    if pat:
        kwargs["token_auth"] = pat
    elif email and api_token:
        kwargs["basic_auth"] = (email, api_token)
    else:
        raise CasewrightError("Jira credentials are missing: set JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT "
                              "(Data Center)")
    return JIRA(**kwargs)


def confluence_client(url: str, *, email: str | None = None, api_token: str | None = None,
                      pat: str | None = None, cloud: bool | None = None, timeout: float = 30.0):  # noqa: ANN201
    from atlassian import Confluence

    if not url:
        raise CasewrightError("CONFLUENCE_URL is not set; point it at your Confluence "
                              "(e.g. https://yourteam.atlassian.net/wiki)")
    kwargs: dict[str, Any] = {"timeout": timeout}
    if cloud is not None:
        kwargs["cloud"] = cloud
    if pat:
        kwargs["token"] = pat
    elif email and api_token:
        kwargs["username"] = email
        kwargs["password"] = api_token
    else:
        raise CasewrightError("Confluence credentials are missing: set CONFLUENCE_EMAIL + CONFLUENCE_API_TOKEN "
                              "or CONFLUENCE_PAT")
    return Confluence(url.rstrip("/"), **kwargs)
