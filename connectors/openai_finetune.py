"""Hosted fine-tuning on the OpenAI API: upload the export, start a job, follow it to the end.

Uses the official `openai` SDK (it comes with langchain-openai). The key comes from
OPENAI_API_KEY and the endpoint from OPENAI_BASE_URL (or `base_url=`), as everywhere else in
the SDK, so the same code runs against OpenAI, Azure-style gateways that speak the same API,
and the local stub the tests use.

The model id a finished job returns goes into CASEWRIGHT_MODEL as `openai:<id>`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.errors import CasewrightError

TERMINAL = ("succeeded", "failed", "cancelled")
DEFAULT_BASE_MODEL = "gpt-4.1-mini-2025-04-14"


class HostedFineTuneError(CasewrightError):
    """The hosted fine-tuning service refused or failed the work; the message says why."""


@dataclass
class HostedJobResult:
    job_id: str
    status: str
    model_id: str | None
    training_file_id: str
    validation_file_id: str | None
    trained_tokens: int | None = None
    events: list[str] = field(default_factory=list)
    error: str | None = None
    elapsed_s: float = 0.0


def _client(api_key: str | None, base_url: str | None, timeout_s: float, max_retries: int) -> Any:
    try:
        import openai
    except ImportError:  # pragma: no cover - the SDK ships with the openai extra
        raise HostedFineTuneError(
            "the openai SDK is not installed; run `pip install 'casewright[openai]'`"
        ) from None
    if not api_key:
        raise HostedFineTuneError("OPENAI_API_KEY is not set; export it (or put it in .env) to use hosted fine-tuning")
    return openai.OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout_s, max_retries=max_retries)


def _explain(exc: Exception, doing: str) -> HostedFineTuneError:
    """Turn an SDK exception into one sentence a person can act on."""
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return HostedFineTuneError(f"{doing}: the API key was rejected (401); check OPENAI_API_KEY")
    if isinstance(exc, openai.PermissionDeniedError):
        return HostedFineTuneError(f"{doing}: this key may not use fine-tuning (403); ask the account owner")
    if isinstance(exc, openai.NotFoundError):
        return HostedFineTuneError(f"{doing}: not found (404); check the base model name and OPENAI_BASE_URL")
    if isinstance(exc, openai.RateLimitError):
        return HostedFineTuneError(f"{doing}: rate limited or out of quota (429); wait or raise the limit")
    if isinstance(exc, openai.BadRequestError):
        detail = getattr(exc, "message", str(exc))
        return HostedFineTuneError(f"{doing}: the service refused the request (400): {detail}")
    if isinstance(exc, openai.APIConnectionError):
        return HostedFineTuneError(f"{doing}: cannot reach the API ({exc.__class__.__name__}); check the network "
                                   "and OPENAI_BASE_URL")
    if isinstance(exc, openai.APIStatusError):
        return HostedFineTuneError(f"{doing}: the API answered {exc.status_code}: {getattr(exc, 'message', exc)}")
    return HostedFineTuneError(f"{doing}: {exc.__class__.__name__}: {exc}")


def _check_file(path: Path, role: str) -> None:
    if not path.exists():
        raise HostedFineTuneError(f"{role} file not found: {path}; run `casewright finetune export` first")
    if path.stat().st_size == 0:
        raise HostedFineTuneError(f"{role} file is empty: {path}; the export found no stories with approved cases")


def run_hosted_finetune(
    train_path: str | Path,
    validation_path: str | Path | None = None,
    *,
    base_model: str = DEFAULT_BASE_MODEL,
    suffix: str | None = "casewright",
    n_epochs: int | str = "auto",
    seed: int | None = 42,
    api_key: str | None = None,
    base_url: str | None = None,
    poll_interval_s: float = 30.0,
    timeout_s: float = 6 * 3600.0,
    request_timeout_s: float = 60.0,
    max_retries: int = 2,
    on_event: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HostedJobResult:
    """Upload the files, create a supervised fine-tuning job and poll it until it ends.

    Returns the result whatever the ending; raises HostedFineTuneError when a request fails,
    and when the job does not end within `timeout_s` (the job keeps running on the service:
    the message gives its id).
    """
    train = Path(train_path)
    _check_file(train, "training")
    val = Path(validation_path) if validation_path else None
    if val is not None:
        _check_file(val, "validation")
    client = _client(api_key, base_url, request_timeout_s, max_retries)
    started = time.monotonic()
    say = on_event or (lambda _m: None)

    def upload(p: Path) -> str:
        try:
            with p.open("rb") as fh:
                obj = client.files.create(file=(p.name, fh), purpose="fine-tune")
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes one sentence
            raise _explain(exc, f"uploading {p.name}") from None
        say(f"uploaded {p.name} as {obj.id} ({obj.bytes} bytes)")
        return obj.id

    train_id = upload(train)
    val_id = upload(val) if val is not None else None
    params: dict[str, Any] = {
        "model": base_model,
        "training_file": train_id,
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": n_epochs}}},
    }
    if val_id:
        params["validation_file"] = val_id
    if suffix:
        params["suffix"] = suffix[:18]  # the API allows at most 18 characters
    if seed is not None:
        params["seed"] = seed
    try:
        job = client.fine_tuning.jobs.create(**params)
    except Exception as exc:  # noqa: BLE001
        raise _explain(exc, f"creating the fine-tuning job on {base_model}") from None
    say(f"created job {job.id} on {base_model}: {job.status}")

    seen_events: set[str] = set()
    messages: list[str] = []
    status = job.status
    while True:
        try:
            job = client.fine_tuning.jobs.retrieve(job.id)
            events = client.fine_tuning.jobs.list_events(fine_tuning_job_id=job.id, limit=50)
            for ev in reversed(list(events.data)):  # the API lists newest first
                if ev.id not in seen_events:
                    seen_events.add(ev.id)
                    messages.append(ev.message)
                    say(ev.message)
        except Exception as exc:  # noqa: BLE001
            raise _explain(exc, f"polling job {job.id}") from None
        if job.status != status:
            status = job.status
            say(f"job {job.id}: {status}")
        if job.status in TERMINAL:
            break
        if time.monotonic() - started > timeout_s:
            raise HostedFineTuneError(
                f"job {job.id} has not finished after {timeout_s:.0f} s (status {job.status}); it keeps running "
                "on the service: check it later in the dashboard or with the API"
            )
        sleep(poll_interval_s)

    error = None
    if job.error is not None and (job.error.message or job.error.code):
        error = f"{job.error.code}: {job.error.message}"
    return HostedJobResult(
        job_id=job.id,
        status=job.status,
        model_id=job.fine_tuned_model,
        training_file_id=train_id,
        validation_file_id=val_id,
        trained_tokens=job.trained_tokens,
        events=messages,
        error=error,
        elapsed_s=time.monotonic() - started,
    )
