"""The review pages, an app mounted at /ui/ (by workers/api.py in `casewright serve`, and by
`casewright review` on 127.0.0.1):

    GET  /ui/                      runs waiting for approval, and recent runs
    GET  /ui/runs/{run_id}         one run: stories, criteria, cases, findings, coverage, write-back plan
    POST /ui/runs/{run_id}/edit    change a case's title, priority, test data or steps
    POST /ui/runs/{run_id}/drop    remove a case
    POST /ui/runs/{run_id}/approve resume the run: write back and report
    POST /ui/runs/{run_id}/reject  resume it with a reason: one more revise round
    GET|POST /ui/login, POST /ui/logout

Edits and decisions go through agent/runner.py (`edit_run`, `drop_case`, `start_decision`, then
`generate_epic(..., resume=True, resume_value=...)` as `casewright approve` does); a decision runs
on after the answer, and the run page follows it. Who may do what is workers/ui/auth.py; every
action is logged (logger ``workers.ui.audit``) with who, and recorded in the run record with when.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from agent.configuration import Configuration
from agent.context import Services
from agent.runner import NotWaiting, RunChanged, drop_case, edit_run, generate_epic, start_decision
from agent.runs import UnknownRunError, check_run_id
from connectors.errors import CasewrightError
from connectors.settings import Settings
from workers.ui.auth import COOKIE, LOGIN_COOKIE, Auth, AuthError, Identity, clean_name
from workers.ui.forms import changes_from_form
from workers.ui.views import FILTERS, run_page, runs_page

HERE = Path(__file__).parent
audit = logging.getLogger("workers.ui.audit")
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _status_for(exc: Exception) -> int:
    if isinstance(exc, UnknownRunError):
        return 404
    if isinstance(exc, (NotWaiting, RunChanged)):
        return 409
    return 400


def create_ui(settings: Settings, *, services: Services | None = None, login_token: str | None = None,
              local_user: str | None = None) -> FastAPI:
    """The review pages for the runs under `settings.data_dir`. With `login_token` (casewright
    review) that token is the only key and logs `local_user` in from the printed URL."""
    api_key = login_token or (settings.api_key.get_secret_value() if settings.api_key else None)
    auth = Auth(api_key, user_header=None if login_token else settings.ui_user_header,
                session_hours=settings.ui_session_hours, local_user=local_user)
    svc = services or Services.from_settings(settings)
    data_dir = str(settings.data_dir)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(FILTERS)
    if not audit.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        audit.addHandler(handler)
    audit.setLevel(logging.INFO)

    app = FastAPI(title="casewright review pages", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN202 - starlette middleware
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def base(request: Request) -> str:
        return str(request.scope.get("root_path") or "")

    def page(request: Request, name: str, context: dict[str, Any], *, status: int = 200,
             identity: Identity | None = None) -> Response:
        context = {"base": base(request), "identity": identity, "csrf": (identity.csrf if identity else None) or "",
                   **context}
        response = templates.TemplateResponse(request, name, context, status_code=status)
        if identity is not None and identity.fresh_cookie and request.method == "GET":
            auth.set_cookie(response, request, COOKIE, identity.fresh_cookie, auth.max_age)
        return response

    def message(request: Request, status: int, text: str, identity: Identity | None = None) -> Response:
        return page(request, "message.html", {"status": status, "text": text}, status=status, identity=identity)

    def who(request: Request) -> Identity | Response:
        """The user, or the answer for an anonymous or refused request (a login redirect for pages)."""
        if not auth.enabled:
            return message(request, 503, "the review pages are disabled: set CASEWRIGHT_API_KEY "
                                         "(or CASEWRIGHT_UI_USER_HEADER behind an authenticating proxy)")
        try:
            identity = auth.identify(request)
        except AuthError as exc:
            audit.info("refused %s %s from %s: %s", request.method, request.url.path, _client(request), exc)
            return message(request, exc.status, str(exc))
        if identity is not None:
            return identity
        if request.method == "GET":
            return RedirectResponse(f"{base(request)}/login?next={quote(request.url.path)}", status_code=303)
        return message(request, 401, "log in first (or send X-API-Key)")

    async def acting(request: Request) -> tuple[Identity, Any] | Response:
        """The user and the form of a POST that changes something, CSRF token checked."""
        identity = who(request)
        if isinstance(identity, Response):
            return identity
        form = await request.form()
        if not auth.csrf_ok(identity, form.get("csrf")):
            audit.info("refused %s from %s: missing or wrong CSRF token", request.url.path, _client(request))
            return message(request, 403, "this form has expired or did not come from this page; reload it and "
                                         "try again", identity)
        return identity, form

    def log(action: str, identity: Identity, request: Request, **details: Any) -> None:
        audit.info("%s by %r (%s) from %s %s", action, identity.user, identity.via, _client(request),
                   " ".join(f"{k}={v!r}" for k, v in details.items()))

    # -- login ---------------------------------------------------------------------------------------
    @app.get("/login")
    def login_form(request: Request, next: str = "", token: str | None = None) -> Response:
        target = _safe_next(base(request), next)
        if not auth.enabled:
            return message(request, 503, "the review pages are disabled: set CASEWRIGHT_API_KEY "
                                         "(or CASEWRIGHT_UI_USER_HEADER behind an authenticating proxy)")
        if token is not None and login_token:
            if not auth.key_ok(token):
                audit.info("login refused (wrong token) from %s", _client(request))
                return message(request, 401, "this review link is not valid; use the one `casewright review` printed")
            response = RedirectResponse(target, status_code=303)
            cookie, _ = auth.new_session(local_user or "local reviewer")
            auth.set_cookie(response, request, COOKIE, cookie, auth.max_age)
            audit.info("login by %r (review link) from %s", local_user, _client(request))
            return response
        signed, raw = auth.new_login_token()
        response = page(request, "login.html", {"next": target, "login_csrf": raw, "error": None})
        auth.set_cookie(response, request, LOGIN_COOKIE, signed, 3600)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        target = _safe_next(base(request), str(form.get("next") or ""))
        if not auth.enabled or not auth.api_key:
            return message(request, 503, "logging in needs CASEWRIGHT_API_KEY on the service")

        def again(status: int, error: str) -> Response:
            signed, raw = auth.new_login_token()
            response = page(request, "login.html", {"next": target, "login_csrf": raw, "error": error}, status=status)
            auth.set_cookie(response, request, LOGIN_COOKIE, signed, 3600)
            return response

        if not auth.login_token_ok(request, str(form.get("csrf") or "")):
            return again(403, "the login form expired; log in again")
        name = clean_name(str(form.get("name") or ""))
        if not auth.key_ok(str(form.get("key") or "")):
            audit.info("login refused (wrong key) for %r from %s", name, _client(request))
            return again(401, "wrong API key")
        if name is None:
            return again(400, "give your name (up to 80 characters): it is recorded with every edit and decision")
        response = RedirectResponse(target, status_code=303)
        cookie, _ = auth.new_session(name)
        auth.set_cookie(response, request, COOKIE, cookie, auth.max_age)
        response.delete_cookie(LOGIN_COOKIE, path=base(request) or "/")
        audit.info("login by %r from %s", name, _client(request))
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        got = await acting(request)
        if isinstance(got, Response):
            return got
        identity, _ = got
        log("logout", identity, request)
        response = RedirectResponse(f"{base(request)}/login", status_code=303)
        auth.clear_cookie(response, request)
        return response

    # -- pages -----------------------------------------------------------------------------------------
    @app.get("/")
    def runs(request: Request) -> Response:
        identity = who(request)
        if isinstance(identity, Response):
            return identity
        return page(request, "runs.html", runs_page(data_dir), identity=identity)

    def show_run(request: Request, identity: Identity, run_id: str, *, status: int = 200, error: str | None = None,
                 notice: str | None = None, drafts: dict[str, Any] | None = None) -> Response:
        try:
            context = run_page(settings, svc, check_run_id(run_id))
        except CasewrightError as exc:
            return message(request, _status_for(exc), str(exc), identity)
        context.update(error=error, notice=notice, drafts=drafts or {})
        return page(request, "run.html", context, status=status, identity=identity)

    @app.get("/runs/{run_id}")
    def run(request: Request, run_id: str, done: str | None = None) -> Response:
        identity = who(request)
        if isinstance(identity, Response):
            return identity
        return show_run(request, identity, run_id, notice=_NOTICES.get(done or ""))

    # -- actions ---------------------------------------------------------------------------------------
    def back(request: Request, run_id: str, done: str, anchor: str = "") -> Response:
        return RedirectResponse(f"{base(request)}/runs/{quote(run_id)}?done={done}{anchor}", status_code=303)

    @app.post("/runs/{run_id}/edit")
    async def edit(request: Request, run_id: str) -> Response:
        got = await acting(request)
        if isinstance(got, Response):
            return got
        identity, form = got
        case_id = str(form.get("case_id") or "")
        try:
            changes = changes_from_form(form)
            entry = await run_in_threadpool(edit_run, data_dir, check_run_id(run_id), case_id, changes,
                                            by=identity.user, version=str(form.get("version") or "") or None,
                                            services=svc)
        except CasewrightError as exc:
            log("edit refused", identity, request, run=run_id, case=case_id, reason=str(exc))
            drafts = {case_id: _draft(form)} if _status_for(exc) == 400 else {}
            return await run_in_threadpool(show_run, request, identity, run_id, status=_status_for(exc),
                                           error=f"{case_id}: {exc}", drafts=drafts)
        log("edit", identity, request, run=run_id, case=case_id,
            fields=",".join(entry["changes"]) if entry else "nothing changed")
        return back(request, run_id, "edited" if entry else "unchanged", f"#{FILTERS['anchor'](case_id)}")

    @app.post("/runs/{run_id}/drop")
    async def drop(request: Request, run_id: str) -> Response:
        got = await acting(request)
        if isinstance(got, Response):
            return got
        identity, form = got
        case_id = str(form.get("case_id") or "")
        try:
            await run_in_threadpool(drop_case, data_dir, check_run_id(run_id), case_id, by=identity.user,
                                    version=str(form.get("version") or "") or None, services=svc)
        except CasewrightError as exc:
            log("drop refused", identity, request, run=run_id, case=case_id, reason=str(exc))
            return await run_in_threadpool(show_run, request, identity, run_id, status=_status_for(exc),
                                           error=f"{case_id}: {exc}")
        log("drop", identity, request, run=run_id, case=case_id)
        return back(request, run_id, "dropped")

    async def decide(request: Request, run_id: str, tasks: BackgroundTasks, approved: bool) -> Response:
        got = await acting(request)
        if isinstance(got, Response):
            return got
        identity, form = got
        reason = " ".join(str(form.get("reason") or "").split()) if not approved else ""
        action = "approve" if approved else "reject"
        try:
            if not approved and not reason:
                raise CasewrightError("a rejection needs a reason: say what to change")
            epic_key, decision = await run_in_threadpool(
                start_decision, data_dir, check_run_id(run_id), approved=approved, reason=reason, by=identity.user,
                version=str(form.get("version") or "") or None)
        except CasewrightError as exc:
            log(f"{action} refused", identity, request, run=run_id, reason=str(exc))
            return await run_in_threadpool(show_run, request, identity, run_id, status=_status_for(exc),
                                           error=str(exc))
        log(action, identity, request, run=run_id, **({"reason": reason} if reason else {}))
        tasks.add_task(_resume, epic_key, run_id, decision, data_dir, svc, settings.concurrency)
        return back(request, run_id, "approved" if approved else "rejected")

    @app.post("/runs/{run_id}/approve")
    async def approve(request: Request, run_id: str, tasks: BackgroundTasks) -> Response:
        return await decide(request, run_id, tasks, True)

    @app.post("/runs/{run_id}/reject")
    async def reject(request: Request, run_id: str, tasks: BackgroundTasks) -> Response:
        return await decide(request, run_id, tasks, False)

    return app


_NOTICES = {
    "edited": "Saved: the write-back will use the edited case.",
    "unchanged": "Nothing changed.",
    "dropped": "Dropped: the case will be neither reported nor written back.",
    "approved": "Approved: the run goes on to write back and report.",
    "rejected": "Rejected: the run goes through one more revise round and waits for approval again.",
}


def _resume(epic_key: str, run_id: str, decision: dict[str, Any], data_dir: str, services: Services,
            concurrency: int) -> None:
    """The decision carried out after the answer, as `casewright approve` does it; a failure is in
    the run record (status failed, with the error), which the run page shows."""
    try:
        generate_epic(epic_key, Configuration(data_dir=data_dir), services, run_id=run_id, resume=True,
                      resume_value=decision, concurrency=concurrency)
    except Exception as exc:  # noqa: BLE001 - recorded in the run record by generate_epic
        audit.warning("run %s stopped after the decision: %s: %s", run_id, type(exc).__name__, exc)


def _draft(form: Any) -> dict[str, Any]:
    """What the reviewer typed, to show again beside the error."""
    try:
        return changes_from_form(form)
    except CasewrightError:
        return {}


def _safe_next(base: str, value: str) -> str:
    """A path of these pages to go on to after logging in, never another site."""
    home = f"{base}/"
    if value.startswith(home) and "//" not in value and "\\" not in value and not any(ord(c) < 32 for c in value):
        return value
    return home


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def create_review_app(settings: Settings, *, token: str, user: str, services: Services | None = None) -> FastAPI:
    """`casewright review`: the review pages alone, for one local user who logs in with `token`."""
    app = FastAPI(title="casewright review", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    app.mount("/ui", create_ui(settings, services=services, login_token=token, local_user=user))
    return app
