"""Who is asking: the review pages' login, session cookie, CSRF tokens and the proxy's user header.

A request is someone when it carries, in this order:

1. ``X-API-Key: <CASEWRIGHT_API_KEY>`` (scripts; a wrong key is refused, never passed over). No
   cookie is involved, so no CSRF token either; the user is ``api-key``.
2. the reverse proxy's user header (``CASEWRIGHT_UI_USER_HEADER``, when set): the user it names.
3. the session cookie a login gave (the API key and a name): signed with a key derived from the
   API key (itsdangerous), so every worker process accepts it and changing the key ends every
   session; it holds the user, a CSRF token and its age (at most ``CASEWRIGHT_UI_SESSION_HOURS``).

The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui`` and ``Secure`` over https. Every
form carries the session's CSRF token, checked on every POST made with a cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "casewright_session"
LOGIN_COOKIE = "casewright_login"
SCRIPT_USER = "api-key"
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,80}")


@dataclass(frozen=True)
class Identity:
    user: str
    via: str                # "key", "proxy" or "session"
    csrf: str | None = None  # the session's token (None for X-API-Key requests)
    fresh_cookie: str | None = None  # a session cookie to set (a proxy user without one yet)

    @property
    def needs_csrf(self) -> bool:
        return self.via != "key"


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def clean_name(value: str | None) -> str | None:
    """A user name fit for logs and records: one line, at most 80 characters, else None."""
    name = " ".join(str(value or "").split())
    return name if _NAME.fullmatch(name or "") else None


class Auth:
    def __init__(self, api_key: str | None, *, user_header: str | None = None, session_hours: float = 8.0,
                 local_user: str | None = None) -> None:
        self.api_key = api_key or None
        self.user_header = (user_header or "").strip() or None
        self.max_age = int(session_hours * 3600)
        self.local_user = local_user
        seed = self.api_key.encode() if self.api_key else secrets.token_bytes(32)
        secret = hmac.new(seed, b"casewright review pages session", hashlib.sha256).hexdigest()
        self._sessions = URLSafeTimedSerializer(secret, salt="casewright.ui.session")
        self._logins = URLSafeTimedSerializer(secret, salt="casewright.ui.login")

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.user_header)

    def key_ok(self, given: str | None) -> bool:
        return bool(self.api_key and given) and hmac.compare_digest(str(given).encode(), self.api_key.encode())

    # -- sessions ----------------------------------------------------------------------------------
    def new_session(self, user: str) -> tuple[str, str]:
        """(cookie value, CSRF token) of a new session for `user`."""
        csrf = secrets.token_urlsafe(24)
        return self._sessions.dumps({"u": user, "c": csrf}), csrf

    def read_session(self, request: Request) -> dict | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._sessions.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and clean_name(data.get("u")) and data.get("c") else None

    def set_cookie(self, response: Response, request: Request, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path=_cookie_path(request), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")

    def clear_cookie(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path=_cookie_path(request), httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")

    # -- the login form's own CSRF token (before there is a session) -------------------------------
    def new_login_token(self) -> tuple[str, str]:
        token = secrets.token_urlsafe(24)
        return self._logins.dumps(token), token

    def login_token_ok(self, request: Request, given: str | None) -> bool:
        try:
            expected = self._logins.loads(request.cookies.get(LOGIN_COOKIE) or "", max_age=3600)
        except BadSignature:
            return False
        return bool(given) and hmac.compare_digest(str(given).encode(), str(expected).encode())

    # -- who is asking -------------------------------------------------------------------------------
    def identify(self, request: Request) -> Identity | None:
        """The request's user, None when anonymous; AuthError for a wrong key."""
        key = request.headers.get("x-api-key")
        if key is not None:
            if not self.api_key:
                raise AuthError(503, "the review pages take no API key: CASEWRIGHT_API_KEY is not set")
            if not self.key_ok(key):
                raise AuthError(401, "wrong API key in X-API-Key")
            return Identity(user=SCRIPT_USER, via="key")
        session = self.read_session(request)
        if self.user_header and request.headers.get(self.user_header) is not None:
            user = clean_name(request.headers.get(self.user_header))
            if user is None:
                raise AuthError(401, f"the {self.user_header} header does not hold a user name")
            if session and session["u"] == user:
                return Identity(user=user, via="proxy", csrf=session["c"])
            cookie, csrf = self.new_session(user)
            return Identity(user=user, via="proxy", csrf=csrf, fresh_cookie=cookie)
        if session:
            return Identity(user=session["u"], via="session", csrf=session["c"])
        return None

    def csrf_ok(self, identity: Identity, given: str | None) -> bool:
        if not identity.needs_csrf:
            return True
        return bool(given and identity.csrf and identity.fresh_cookie is None) and \
            hmac.compare_digest(str(given).encode(), str(identity.csrf).encode())


def _cookie_path(request: Request) -> str:
    return str(request.scope.get("root_path") or "") or "/"
