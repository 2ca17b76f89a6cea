"""`casewright review [RUN]`: the review pages on this machine only (127.0.0.1), for the person at
the terminal; the URL it prints logs them in (a one-time key made for this session)."""

from __future__ import annotations

import secrets
import socket
from typing import Optional
from urllib.parse import quote

import typer
from rich.console import Console

from casewright.commands import get_settings
from connectors.errors import CasewrightError

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def review(
        run_id: Optional[str] = typer.Argument(None, help="Open this run (default: the list of runs)"),
        port: int = typer.Option(8765, "--port", "-p", help="Port on 127.0.0.1 (0: any free one)"),
        browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the page in a browser"),
    ) -> None:
        """Review runs in the browser: read, edit, approve or reject them before they reach Jira."""
        import uvicorn

        from agent.runs import load_run
        from casewright.commands.runs import current_user
        from workers.ui.app import create_review_app

        settings = get_settings()
        if run_id:
            load_run(settings.data_dir, run_id)  # an unknown run is one clear line, before any server starts
        if not 0 <= port <= 65535:
            raise CasewrightError(f"--port {port} is not a port; use 1-65535, or 0 for any free one")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            sock.close()
            raise CasewrightError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
                                  "choose another --port, or 0 for any free one") from None
        token = secrets.token_urlsafe(24)
        app = create_review_app(settings, token=token, user=current_user() or "local reviewer")
        target = f"/ui/runs/{quote(run_id)}" if run_id else "/ui/"
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/ui/login?token={token}&next={quote(target)}"
        console.print(f"Review pages for the runs under {settings.data_dir}:\n{url}", soft_wrap=True,
                      highlight=False, markup=False)
        console.print("Only this machine can reach them. Ctrl-C stops.")
        if browser:
            import webbrowser

            webbrowser.open(url)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
