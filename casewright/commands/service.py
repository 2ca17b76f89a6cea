"""Service commands: `casewright worker | beat | serve | enqueue | status`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from connectors.errors import CasewrightError

if TYPE_CHECKING:
    from rich.table import Table

out = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("worker", help="Run a Celery worker that executes generation jobs.")(worker)
    app.command("beat", help="Run Celery beat: the nightly sweep on CASEWRIGHT_NIGHTLY_CRON.")(beat)
    app.command("serve", help="Run the webhook receiver and job API (FastAPI on uvicorn).")(serve)
    app.command("enqueue", help="Queue a generation job for an epic; prints the job id.")(enqueue)
    app.command("status", help="Show a job's state; --follow shows live progress until it ends.")(status)


def _redis_problem(exc: Exception) -> CasewrightError:
    return CasewrightError(f"cannot reach Redis ({type(exc).__name__}: {exc}); "
                           "check REDIS_URL and that Redis is running")


def worker(
    concurrency: int = typer.Option(0, "--concurrency", "-c", help="Processes/threads; CPU count when 0"),
    pool: str = typer.Option("prefork", "--pool", "-P", help="prefork (time limits enforced), threads or solo"),
    loglevel: str = typer.Option("info", "--loglevel", "-l"),
    hostname: Optional[str] = typer.Option(None, "--hostname", "-n", help="Worker name, e.g. w1@%h"),
) -> None:
    if pool not in ("prefork", "threads", "solo"):
        raise CasewrightError(f"unknown pool {pool!r}; use prefork, threads or solo")
    from workers.celery_app import app as celery_app

    argv = ["worker", f"--pool={pool}", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    celery_app.worker_main(argv)


def beat(
    schedule_file: Optional[str] = typer.Option(None, "--schedule-file", "-s",
                                                help="Where beat keeps its last-run times"),
    loglevel: str = typer.Option("info", "--loglevel", "-l"),
) -> None:
    from connectors.data_dir import ensure_data_dir
    from connectors.settings import get_settings
    from workers.celery_app import app as celery_app
    from workers.schedule import next_runs

    s = get_settings()
    runs = next_runs(s)
    err.print(f"nightly sweep: '{s.nightly_cron}' in {s.timezone}; next runs: "
              + ", ".join(r.strftime("%Y-%m-%d %H:%M %Z") for r in runs))
    path = schedule_file or str(s.data_dir / "celerybeat-schedule")
    ensure_data_dir(s.data_dir)
    celery_app.start(["beat", f"--loglevel={loglevel}", f"--schedule={path}"])


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 in a container)"),
    port: int = typer.Option(8080, "--port", "-p"),
    workers: int = typer.Option(1, "--workers", help="uvicorn worker processes"),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    import uvicorn

    from connectors.settings import get_settings

    s = get_settings()
    if s.webhook_secret is None:
        err.print("[yellow]warning:[/] CASEWRIGHT_WEBHOOK_SECRET is not set; webhook deliveries are not verified")
    if s.api_key is None:
        err.print("[yellow]warning:[/] CASEWRIGHT_API_KEY is not set; the /jobs endpoints answer 503")
    uvicorn.run("workers.api:_app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level=log_level, access_log=False)


def enqueue(
    epic_key: str = typer.Argument(..., help="The epic, e.g. ER-1"),
    write_back: Optional[str] = typer.Option(None, "--write-back",
                                             help="issues, subtasks, comment or none (CASEWRIGHT_WRITE_BACK)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan the write-back without changing Jira"),
    fmt: Optional[list[str]] = typer.Option(None, "--format", "-f", help="Output formats; repeat the option"),
    source: str = typer.Option("jira", "--source", help="'jira', or a workspace file the workers can read"),
) -> None:
    import redis

    from workers.jobs import enqueue_generate

    try:
        queued = enqueue_generate(epic_key, trigger="cli", source=source, write_back=write_back,
                                  dry_run=dry_run, formats=fmt)
    except (redis.RedisError, OSError) as exc:
        raise _redis_problem(exc) from None
    out.print(queued.job_id, highlight=False)
    if queued.coalesced:
        err.print(f"{queued.epic_key} already had a queued job; this request joins it")


def _table(st: dict) -> "Table":
    from rich.table import Table

    t = Table(show_header=False, box=None)
    for label, key in (("job", "job_id"), ("epic", "epic_key"), ("state", "state"), ("trigger", "trigger"),
                       ("enqueued", "enqueued_at"), ("started", "started_at"), ("finished", "finished_at"),
                       ("waiting for", "waiting_for"), ("worker", "worker"), ("note", "note"), ("error", "error")):
        if st.get(key):
            t.add_row(label, str(st[key]))
    if st.get("executions", 0) > 1:
        t.add_row("executions", str(st["executions"]))
    result = st.get("result") or {}
    for key in ("summary", "report", "outputs", "write_back"):
        if result.get(key):
            value = result[key]
            t.add_row(key, value if isinstance(value, str) else json.dumps(value, default=str))
    return t


def status(
    job_id: str = typer.Argument(..., help="The id `casewright enqueue` printed"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Show live progress until the job ends"),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
    interval: float = typer.Option(0.5, "--interval", help="Seconds between polls with --follow"),
) -> None:
    import redis

    from workers.celery_wire import FINAL_STATES
    from workers.jobs import job_status

    def fetch() -> dict:
        try:
            st = job_status(job_id)
        except (redis.RedisError, OSError) as exc:
            raise _redis_problem(exc) from None
        if st is None:
            raise CasewrightError(f"no job {job_id} (job records are kept for 7 days)")
        return st

    st = fetch()
    if follow and st["state"] not in FINAL_STATES:
        from rich.live import Live
        from rich.progress import BarColumn, Progress, TextColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} stories"),
                       console=err, transient=True)
        task = bar.add_task("queued", total=None)
        with Live(bar, console=err, refresh_per_second=8):
            while st["state"] not in FINAL_STATES:
                p = st.get("progress") or {}
                bar.update(task, description=f"{st['state'].lower()}: {p.get('node') or st.get('phase') or ''}",
                           completed=p.get("stories_done", 0), total=p.get("stories_total") or None)
                time.sleep(interval)
                st = fetch()
    if as_json:
        out.print_json(json.dumps(st, default=str))
    else:
        out.print(_table(st))
    if st["state"] == "FAILURE":
        raise typer.Exit(1)
