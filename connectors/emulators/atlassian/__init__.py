"""The Jira/Confluence emulator: a FastAPI app seeded from a workspace file, serving what the
real `jira` and `atlassian-python-api` clients call, with auth, fault injection and a request log.
"""

from connectors.emulators.atlassian.controls import Credentials, Faults, RecordedRequest
from connectors.emulators.atlassian.server import SandboxServer
from connectors.emulators.atlassian.state import SandboxState

__all__ = ["SandboxServer", "SandboxState", "Faults", "Credentials", "RecordedRequest"]
