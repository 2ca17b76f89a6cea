"""`casewright ingest` and `casewright search`: fill the knowledge base and look inside it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from casewright.commands import get_settings
from connectors.errors import CasewrightError

console = Console()
KIND_NAMES = {
    "page": "page_section", "page_section": "page_section", "rule": "page_section", "section": "page_section",
    "story": "story", "criterion": "criterion", "criteria": "criterion", "ac": "criterion",
    "case": "test_case", "test": "test_case", "test_case": "test_case",
}


def store_config():
    from agent.knowledge.config import StoreConfig

    return StoreConfig.from_settings(get_settings())


def live_workspace(jql: Optional[str], cql: Optional[str]):
    """A Workspace read live: issues matching the JQL from Jira, pages matching the CQL from
    Confluence (connection settings as for `generate --jira`)."""
    from connectors.jira_access import JiraAccess

    access = JiraAccess.from_settings(get_settings(), require_jira=bool(jql))
    with console.status("Reading " + " and ".join(x for x in (f"Jira issues: {jql}" if jql else "",
                                                              f"Confluence pages: {cql}" if cql else "") if x)):
        return access.workspace(jql, cql)


def ingest_with_progress(ws, *, prune: bool = True, quiet: bool = False):
    """Sync the configured knowledge base with `ws`, showing a progress bar; returns the summary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from agent.knowledge.base import ingest_workspace, open_knowledge_base

    settings = get_settings()
    config = store_config()
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("chunks"), TimeElapsedColumn(), console=console, transient=True,
                  disable=quiet) as bar:
        task = bar.add_task("Loading the embedding model", total=None)
        kb = open_knowledge_base(config)
        try:
            bar.update(task, description="Chunking and comparing with the store")

            def progress(done: int, total: int) -> None:
                bar.update(task, description="Embedding new and changed chunks", completed=done, total=total)

            return ingest_workspace(kb, ws, ac_field_name=settings.ac_field_name,
                                    test_issue_type=settings.test_issue_type, prune=prune, progress=progress)
        finally:
            kb.close()


def print_sync_summary(summary, where: str) -> None:
    from rich.table import Table

    table = Table(title=f"Knowledge base ({summary.backend}) ← {where}")
    for col in ("Added", "Updated", "Unchanged", "Deleted", "Embedded", "Chunks", "Seconds"):
        table.add_column(col, justify="right")
    table.add_row(str(summary.added), str(summary.updated), str(summary.unchanged), str(summary.deleted),
                  str(summary.embedded), str(summary.chunks), f"{summary.seconds:.2f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        source: Optional[Path] = typer.Option(None, "--source", "-s", help="Workspace JSON file to ingest"),
        sample: bool = typer.Option(False, "--sample", help="Ingest the bundled sample project"),
        jira: bool = typer.Option(False, "--jira", help="Read issues live from Jira (needs --jql)"),
        jql: Optional[str] = typer.Option(None, "--jql", help="JQL for the stories and approved cases"),
        confluence_cql: Optional[str] = typer.Option(None, "--confluence-cql",
                                                     help="CQL for the rule pages (default CONFLUENCE_CQL)"),
        prune: bool = typer.Option(True, "--prune/--no-prune",
                                   help="Delete stored chunks of these projects that the source no longer has"),
    ) -> None:
        """Embed stories, criteria, rule pages and approved cases into the knowledge base (incremental)."""
        from connectors.workspace import SAMPLE_PATH, load_workspace

        chosen = sum([source is not None, sample, jira or bool(confluence_cql)])
        if chosen != 1:
            raise CasewrightError("say what to ingest: --source workspace.json, --sample, or --jira --jql \"...\" "
                                  "[--confluence-cql \"...\"]")
        if source is not None or sample:
            path = SAMPLE_PATH if sample else source
            ws = load_workspace(path)
            where = str(path)
        else:
            cql = confluence_cql or get_settings().confluence_cql
            if jira and not jql:
                raise CasewrightError("--jira needs --jql \"project = KEY\" (which issues to ingest)")
            ws = live_workspace(jql if jira else None, cql)
            where = " + ".join(x for x in (f"JQL {jql}" if jira else "", f"CQL {cql}" if cql else "") if x)
        summary = ingest_with_progress(ws, prune=prune)
        print_sync_summary(summary, where)

    @app.command()
    def search(
        query: str = typer.Argument(..., help="What to look for, in plain words"),
        kind: Optional[str] = typer.Option(None, "--kind", "-k",
                                           help="page, story, criterion or case (default: all)"),
        project: Optional[str] = typer.Option(None, "--project", "-p", help="Only this project / space key"),
        limit: int = typer.Option(5, "--limit", "-n", min=1, max=100, help="How many hits"),
    ) -> None:
        """Search the knowledge base (hybrid dense + BM25) and print the top hits with their sources."""
        from agent.knowledge.base import open_knowledge_base

        kinds = None
        if kind:
            if kind.lower() not in KIND_NAMES:
                raise CasewrightError(f"unknown --kind '{kind}'; choose page, story, criterion or case")
            kinds = [KIND_NAMES[kind.lower()]]
        if not query.strip():
            raise CasewrightError("the search query is empty")
        config = store_config()
        if config.backend == "embedded" and not config.embedded_store_exists():
            other = config.other_backend_store()
            if other:
                raise CasewrightError(config.backend_mismatch(other))
            raise CasewrightError(f"the knowledge base under {config.store_path} is empty; run "
                                  f"`casewright ingest --source workspace.json` (or --sample) first")
        with console.status("Searching"):
            kb = open_knowledge_base(config)
            try:
                hits = kb.search(query, kinds=kinds, projects=[project] if project else None, limit=limit)
            finally:
                kb.close()
        if not hits:
            console.print("No hits.")
            return
        from rich.table import Table

        table = Table(title=f"Top {len(hits)} for “{query}”", show_lines=True)
        table.add_column("#", justify="right")
        table.add_column("Score", justify="right")
        table.add_column("Kind")
        table.add_column("Source")
        table.add_column("Text", overflow="fold")
        for n, hit in enumerate(hits, start=1):
            text = hit.text if len(hit.text) <= 300 else hit.text[:297] + "..."
            where = f"{hit.chunk_id}\n{hit.title}" + (f"\n{hit.url}" if hit.url else "")
            table.add_row(str(n), f"{hit.score:.4f}", hit.kind, where, text)
        console.print(table)


def ingest_sample() -> None:
    """`casewright demo` calls this first: the bundled sample into the knowledge base."""
    from connectors.workspace import SAMPLE_PATH, load_workspace

    summary = ingest_with_progress(load_workspace(SAMPLE_PATH))
    print_sync_summary(summary, "the sample project")
