"""`casewright sandbox` (the Jira/Confluence emulator) and `casewright export` (snapshot a live epic)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from connectors.errors import CasewrightError
from connectors.jira_keys import check_issue_key

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def sandbox(
        seed: Path = typer.Option(..., "--seed", help="Workspace JSON to seed Jira and Confluence from"),
        port: int = typer.Option(8080, "--port", help="Port to listen on (0: any free port)"),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind"),
        mode: str = typer.Option("cloud", "--mode", help="cloud (search/jql, nextPageToken) or datacenter (search, startAt)"),
        email: Optional[str] = typer.Option(None, "--email", help="Accept Basic auth with this email..."),
        token: Optional[str] = typer.Option(None, "--token", help="...and this API token"),
        pat: Optional[str] = typer.Option(None, "--pat", help="Accept Bearer auth with this personal access token"),
        page_size: int = typer.Option(100, "--page-size", help="Largest page a search returns"),
    ) -> None:
        """Run local Jira + Confluence, Xray, Zephyr Scale and TestRail emulators on one port, seeded from a workspace file."""
        from connectors.emulators.atlassian import SandboxServer

        if mode not in ("cloud", "datacenter"):
            raise CasewrightError(f"unknown --mode '{mode}'; choose cloud or datacenter")
        if bool(email) != bool(token):
            raise CasewrightError("--email and --token go together (Basic auth); or use --pat")
        if not seed.exists():
            raise CasewrightError(f"seed workspace not found: {seed}")
        server = SandboxServer(seed, mode=mode, email=email, api_token=token, pat=pat, host=host, port=port,
                               max_results=page_size)
        auth = "no authentication" if not (email or pat) else \
            " and ".join(x for x in (f"Basic {email}:<token>" if email else "", "Bearer <pat>" if pat else "") if x)
        console.print(f"[bold]casewright sandbox[/] ({mode}) on {server.url} with {auth}")
        console.print(f"  JIRA_URL={server.url}  CONFLUENCE_URL={server.url}  JIRA_DEPLOYMENT={mode}")
        console.print(f"  XRAY_URL={server.xray_url}", soft_wrap=True)
        console.print(f"  ZEPHYR_URL={server.zephyr_url}", soft_wrap=True)
        console.print(f"  TESTRAIL_URL={server.testrail_url}  TESTRAIL_PROJECT_ID=1", soft_wrap=True)
        if email:
            console.print(f"  the same credential for every tool: XRAY_CLIENT_ID / TESTRAIL_EMAIL = {email}; "
                          "XRAY_CLIENT_SECRET / TESTRAIL_API_KEY / ZEPHYR_API_TOKEN = the --token", soft_wrap=True)
        console.print("  Ctrl-C stops it; everything written is kept in memory only.")
        server.serve_forever()

    @app.command()
    def export(
        epic: str = typer.Argument(..., help="Epic key, e.g. ER-1"),
        out: Path = typer.Option(..., "--out", "-o", help="Workspace JSON file to write"),
    ) -> None:
        """Snapshot a live epic (issues, fields, linked pages, existing tests) into a workspace file."""
        epic = check_issue_key(epic, "epic key")
        from connectors.jira_access import JiraAccess
        from connectors.settings import get_settings
        from connectors.workspace import save_workspace

        if out.exists() and out.is_dir():
            raise CasewrightError(f"--out {out} is a directory; give a file name such as {out / (epic + '.json')}")
        access = JiraAccess.from_settings(get_settings())
        ws = access.source().workspace_for_epic(epic)
        path = save_workspace(ws, out)
        stories = len(ws.children(epic))
        console.print(f"exported {epic}: {len(ws.issues)} issues ({stories} stories), {len(ws.pages)} pages, "
                      f"{len(ws.fields)} fields -> {path}")


def print_write_back(summary: dict, out: Console | None = None) -> None:
    """The write-back plan/result of a run: counts per action, then each case that is not unchanged."""
    wb = summary.get("write_back")
    if not wb:
        return
    from rich.markup import escape
    from rich.table import Table

    from agent.writeback.reconcile import ACTIONS

    out = out or console
    counts = wb.get("counts") or {}
    title = f"Write-back ({wb.get('mode')}){' — dry run, nothing written' if wb.get('dry_run') else ''}"
    table = Table(title=title, show_header=True)
    where = {"xray": "Xray", "zephyr": "Zephyr Scale", "testrail": "TestRail"}.get(str(wb.get("mode")), "Jira")
    for col in ("Case", "Story", "Action", where, "Note"):
        table.add_column(col)
    shown = 0
    for item in wb.get("items") or []:
        if item.get("action") == "unchanged" and not item.get("repairs"):
            continue
        note = item.get("reason") or (("repair: " + ", ".join(item["repairs"])) if item.get("repairs") else "")
        case = item["case_id"] or (f"(was {item['was']})" if item.get("was") else "-")
        table.add_row(escape(case), escape(item["story_key"]), item["action"], escape(item.get("target") or ""),
                      escape(note))
        shown += 1
    if shown:
        out.print(table)
    line = ", ".join(f"{counts.get(a, 0)} {a}" for a in ACTIONS)
    summary_action = (wb.get("summary") or {}).get("action")
    out.print(f"Write-back {wb.get('mode')}: {line}; epic summary comment: {summary_action or 'none'}"
              + ("" if wb.get("dry_run") else f"; {wb.get('writes', 0)} writes"))
    if wb.get("retired"):
        out.print(f"  retired before (nothing to do): {escape(', '.join(wb['retired']))}")
