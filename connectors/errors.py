"""The one error type users see: a clear sentence naming the problem and what to do.

Every layer raises subclasses of CasewrightError for bad input or configuration; the CLI and
the API turn them into one line (exit code 2 / HTTP 4xx), never a traceback.
"""


class CasewrightError(Exception):
    """Bad input, configuration or an unreachable dependency, described for a person."""

    exit_code = 2
