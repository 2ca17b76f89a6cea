"""The one error type users see: a clear sentence naming the problem and what to do.

Every layer raises subclasses of CasewrightError for bad input or configuration; the CLI and
the API turn them into one line (exit code 2 / HTTP 4xx), never a traceback.
"""


class CasewrightError(Exception):
    """Bad input, configuration or an unreachable dependency, described for a person."""

    exit_code = 2


# Exception class names (anywhere in an exception's class hierarchy) that mean "try again later":
# timeouts and dropped connections of httpx/requests/redis, rate limits and server errors of the
# model providers' SDKs, Qdrant's transport errors, and connectors.atlassian_http.TransientError.
_TRANSIENT_NAMES = {
    "TimeoutError", "ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout", "WriteTimeout",
    "ConnectError", "PoolTimeout", "ProtocolError", "RemoteProtocolError", "RemoteDisconnected",
    "ChunkedEncodingError", "TransportError", "NetworkError",
    "APIConnectionError", "APITimeoutError", "RateLimitError", "InternalServerError",
    "ServiceUnavailableError", "OverloadedError", "APIResponseValidationError",
    "ResponseHandlingException",
    "TransientError",
}
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying (timeouts, dropped connections, 429 and 5xx answers), as
    opposed to problems a person must fix (a bad key, an unknown model, bad input)."""
    if getattr(exc, "transient", False):  # connectors may flag their own errors
        return True
    if any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__):
        return True
    if isinstance(exc, CasewrightError):
        return False
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status in _TRANSIENT_STATUS or status >= 500
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)
