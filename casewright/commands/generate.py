"""`casewright generate` and `casewright demo`: run the agent for one epic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from agent.configuration import COVERAGE_MODES, FORMATS, WRITE_BACK_MODES, Configuration, check_formats
from casewright.commands import get_settings
from connectors.errors import CasewrightError
from connectors.jira_keys import check_issue_key

if TYPE_CHECKING:  # the graph stack loads only when a command runs one (fast `--help`)
    from agent.runner import RunResult

console = Console()


class RunCrashed(CasewrightError):
    exit_code = 1


def parse_formats(value: str) -> list[str]:
    return check_formats(value)


def missing_tool_settings(mode: str, settings: object) -> list[str]:
    """The settings a test-management write-back needs that are not set (besides Jira's, which every
    write-back needs for the epic's summary comment)."""
    def unset(*names: str) -> bool:
        return not all(getattr(settings, n) for n in names)

    needs: dict[str, list[tuple[tuple[str, ...], str]]] = {
        # Xray Server is reached through Jira; Cloud (JIRA_DEPLOYMENT=cloud, or found so at run time) needs its API key
        "xray": [(("xray_client_id", "xray_client_secret"), "XRAY_CLIENT_ID + XRAY_CLIENT_SECRET")]
        if getattr(settings, "jira_deployment", "auto") == "cloud" else [],
        "zephyr": [(("zephyr_api_token",), "ZEPHYR_API_TOKEN")],
        "testrail": [(("testrail_url",), "TESTRAIL_URL"), (("testrail_email", "testrail_api_key"),
                                                            "TESTRAIL_EMAIL + TESTRAIL_API_KEY"),
                     (("testrail_project_id",), "TESTRAIL_PROJECT_ID")],
    }
    return [label for names, label in needs.get(mode, []) if unset(*names)]


def build_configuration(*, source: str, formats: list[str], out: Path, template: Optional[Path],
                        write_back: str, dry_run: bool, review: bool, stories: Optional[str],
                        coverage: Optional[str] = None, coverage_judge: Optional[bool] = None) -> Configuration:
    """The run these options ask for, on top of the settings (the workers build theirs the same way)."""
    settings = get_settings()
    if write_back not in WRITE_BACK_MODES:
        raise CasewrightError(f"unknown --write-back '{write_back}'; choose from {', '.join(WRITE_BACK_MODES)}")
    if dry_run and write_back == "none":
        raise CasewrightError("--dry-run plans a write-back: add --write-back "
                              + "|".join(m for m in WRITE_BACK_MODES if m != "none"))
    if write_back != "none":  # checked before generating: writing back always needs live Jira, whatever the source
        missing = [] if settings.jira_url else ["JIRA_URL"]
        if not (settings.jira_pat or (settings.jira_email and settings.jira_api_token)):
            missing.append("JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center)")
        if missing:
            raise CasewrightError(f"--write-back {write_back} writes to Jira, which needs {' and '.join(missing)}; "
                                  "set them, or use --write-back none")
        tool = missing_tool_settings(write_back, settings)
        if tool:
            raise CasewrightError(f"--write-back {write_back} needs {' and '.join(tool)}; set them "
                                  "(docs/configuration.md), or choose another --write-back")
    if coverage is not None and coverage not in COVERAGE_MODES:
        raise CasewrightError(f"unknown --coverage '{coverage}'; choose from {', '.join(COVERAGE_MODES)}")
    if template is not None and not template.exists():
        raise CasewrightError(f"house template not found: {template}")
    return Configuration.from_settings(
        settings, source=source, template_path=str(template) if template else None, formats=formats,
        out_dir=str(out), write_back=write_back, dry_run=dry_run, review=review, coverage=coverage,
        coverage_judge=coverage_judge, story_keys=[check_issue_key(s, "--stories key") for s in stories.split(",") if s.strip()] if stories else None)


def run_with_progress(epic: str, cfg: Configuration, *, run_id: Optional[str], resume: bool,
                      resume_value: object = None) -> RunResult:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from agent.context import Services
    from agent.graph import NODES
    from agent.runner import generate_epic

    settings = get_settings()
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} stories"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("Starting", total=None)
        done = 0

        def progress(node: str, update: dict) -> None:
            nonlocal done
            if node == "plan" and update.get("scope") is not None:
                bar.update(task, total=len(update["scope"]))
            if node == "generate":
                done += 1
                bar.update(task, completed=done)
            bar.update(task, description=NODES[node][1] if node in NODES else node)

        return generate_epic(epic, cfg, Services.from_settings(settings), run_id=run_id, resume=resume,
                             progress=progress, concurrency=settings.concurrency, resume_value=resume_value)


def print_summary(result: RunResult) -> None:
    from rich.table import Table

    s = result.summary
    table = Table(title=f"{result.epic_key} — run {result.run_id}", show_header=True)
    for col in ("stories", "criteria", "cases", "coverage", "findings"):
        table.add_column(col.capitalize(), justify="right")
    table.add_row(str(s.get("stories", 0)), str(s.get("criteria", 0)), str(s.get("cases", 0)),
                  f"{float(s.get('coverage', 0)) * 100:.0f}%",
                  f"{s.get('findings', 0)} ({s.get('errors', 0)} errors)")
    console.print(table)
    if result.status == "interrupted":
        console.print(f"Waiting for approval: [bold]casewright approve {result.run_id}[/]")
    for path in result.report_paths:
        console.print(f"  wrote {path}")
    from casewright.commands.jira import print_write_back

    print_write_back(s, console)


def register(app: typer.Typer) -> None:
    @app.command()
    def generate(
        epic: str = typer.Argument(..., help="Epic key, e.g. ER-1"),
        source: Optional[Path] = typer.Option(None, "--source", "-s", help="Workspace JSON file (Jira/Confluence export)"),
        jira: bool = typer.Option(False, "--jira", help="Read the epic live from Jira (JIRA_URL, credentials)"),
        fmt: str = typer.Option("md,json", "--format", "-f", help=f"Comma-separated: {', '.join(FORMATS)}"),
        out: Path = typer.Option(Path("out"), "--out", "-o", help="Output directory"),
        template: Optional[Path] = typer.Option(None, "--template", help="House template YAML"),
        stories: Optional[str] = typer.Option(None, "--stories", help="Only these story keys (comma-separated)"),
        write_back: str = typer.Option("none", "--write-back", help=", ".join(WRITE_BACK_MODES)),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the write-back plan, change nothing"),
        review: bool = typer.Option(False, "--review", help="Stop for approval before writing back"),
        resume: Optional[str] = typer.Option(None, "--resume", help="Continue an interrupted run by its id"),
        coverage: Optional[str] = typer.Option(None, "--coverage", help="gaps: only what existing tests leave "
                                               "uncovered; all: every case (default: the house template's)"),
        coverage_judge: Optional[bool] = typer.Option(None, "--coverage-judge/--no-coverage-judge",
                                                      help="With a model: let it decide borderline test-criterion "
                                                      "pairs (default: the house template's coverage_judge)"),
    ) -> None:
        """Generate UAT cases for one epic."""
        epic = check_issue_key(epic, "epic key")
        if source is not None and jira:
            raise CasewrightError("choose one of --source FILE or --jira")
        if source is None and not jira and not resume:
            raise CasewrightError("say where the epic comes from: --source workspace.json or --jira "
                                  "(or `casewright demo` for the bundled sample)")
        src = "jira" if jira else (str(source) if source else "sample")
        if source is not None and str(source) != "sample" and not source.exists():
            raise CasewrightError(f"workspace file not found: {source}")
        cfg = build_configuration(source=src, formats=parse_formats(fmt), out=out, template=template,
                                  write_back=write_back, dry_run=dry_run, review=review, stories=stories,
                                  coverage=coverage, coverage_judge=coverage_judge)
        try:
            result = run_with_progress(epic, cfg, run_id=resume, resume=bool(resume))
        except CasewrightError:
            raise
        except Exception as exc:  # a crash mid-run: the checkpoint keeps what was done
            from agent.runs import list_runs

            latest = next((r for r in list_runs(cfg.data_dir) if r.get("epic_key") == epic), None)
            hint = f"; continue it with `casewright generate {epic} --resume {latest['run_id']}`" if latest else ""
            raise RunCrashed(f"the run stopped: {type(exc).__name__}: {exc}{hint}") from exc
        print_summary(result)

    @app.command()
    def demo(
        epic: str = typer.Option("ER-1", "--epic", help="Epic of the bundled sample project"),
        out: Path = typer.Option(Path("out"), "--out", "-o"),
        fmt: str = typer.Option(",".join(FORMATS), "--format", "-f"),
        ingest: bool = typer.Option(True, "--ingest/--no-ingest",
                                    help="Ingest the sample into the knowledge base first (incremental)"),
    ) -> None:
        """Run the main job offline on the bundled sample project (every format)."""
        epic = check_issue_key(epic, "--epic")
        if ingest:  # so the cases use the sample's Confluence rules
            from casewright.commands.knowledge import ingest_sample

            ingest_sample()
        cfg = build_configuration(source="sample", formats=parse_formats(fmt), out=out, template=None,
                                  write_back="none", dry_run=False, review=False, stories=None)
        result = run_with_progress(epic, cfg, run_id=None, resume=False)
        print_summary(result)
