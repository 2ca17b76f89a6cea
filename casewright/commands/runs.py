"""`casewright runs` and `casewright approve RUN [--reject --reason "..."]` (the review pages,
`casewright review`, decide through the same agent/runner.py functions).

A run started with `generate --review` stops before writing back and waits (its state is in the
SQLite checkpoint under the data directory). Any later process can list it and decide:
approving resumes the graph to write back and report; rejecting with a reason sends every story
through one more revise round with the reason, then asks again.
"""

from __future__ import annotations

import getpass
from typing import Optional

import typer
from rich.console import Console
from casewright.commands import get_settings
from connectors.errors import CasewrightError

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def runs(
        waiting: bool = typer.Option(False, "--waiting", help="Only runs waiting for approval"),
        limit: int = typer.Option(20, "--limit", "-n", help="How many of the latest runs"),
    ) -> None:
        """List recent runs: status, figures, and which wait for approval."""
        from agent.runs import figures, list_runs

        settings = get_settings()
        records = list_runs(settings.data_dir)
        if waiting:
            records = [r for r in records if r.get("status") == "waiting-approval"]
        if not records:
            console.print(f"No runs under {settings.data_dir}.")
            return
        from rich.table import Table

        table = Table(show_header=True)
        for col in ("Run", "Epic", "Status", "Generator", "Started", "Figures"):
            table.add_column(col)
        for r in records[:limit]:
            status = r.get("status", "")
            approval = r.get("approval") or {}
            if approval.get("status") in ("approved", "rejected") and status != "waiting-approval":
                status = f"{status} ({approval['status']}{' by ' + approval['by'] if approval.get('by') else ''})"
            table.add_row(r.get("run_id", ""), r.get("epic_key", ""), status,
                          str((r.get("config") or {}).get("model", "")), str(r.get("started_at", "")),
                          figures(r.get("summary")))
        console.print(table)
        if any(r.get("status") == "waiting-approval" for r in records[:limit]):
            console.print("Approve with [bold]casewright approve RUN[/], or reject with "
                          "[bold]casewright approve RUN --reject --reason \"...\"[/]")

    @app.command()
    def approve(
        run_id: str = typer.Argument(..., help="The run to decide on (see `casewright runs`)"),
        reject: bool = typer.Option(False, "--reject", help="Reject: revise once more with --reason"),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why (required with --reject)"),
        by: Optional[str] = typer.Option(None, "--by", help="Who decides (default: the current user)"),
    ) -> None:
        """Approve a run waiting for review (it goes on to write back), or reject it with a reason."""
        from agent.runs import waiting_run

        settings = get_settings()
        waiting_run(settings.data_dir, run_id)  # a wrong id fails before the graph stack loads

        from agent.configuration import Configuration
        from agent.runner import start_decision
        from casewright.commands.generate import print_summary, run_with_progress
        if reject and not (reason or "").strip():
            raise CasewrightError("--reject needs --reason \"what to change\"")
        if reason and not reject:
            raise CasewrightError("--reason goes with --reject; an approval needs no reason")
        epic_key, decision = start_decision(settings.data_dir, run_id, approved=not reject,
                                            reason=(reason or "").strip(), by=by or current_user())
        cfg = Configuration(data_dir=str(settings.data_dir))
        result = run_with_progress(epic_key, cfg, run_id=run_id, resume=True, resume_value=decision)
        verb = "Rejected" if reject else "Approved"
        console.print(f"{verb} run {run_id}" + (f": {decision['reason']}" if reject else ""))
        print_summary(result)


def current_user() -> str:
    """The login name of whoever runs the command ('' when the system has none)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return ""
