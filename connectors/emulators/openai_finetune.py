"""A local stand-in for the OpenAI files and fine-tuning endpoints, served over real HTTP.

It checks what a real service checks (the bearer key, that uploaded files exist, that each
training line is a chat example ending with an assistant message) and walks a job through
validating_files -> queued -> running -> succeeded (or failed) one step per poll, so the real
`openai` SDK and casewright's polling loop are exercised end to end.

    with OpenAIFineTuneStub(api_key="sk-test") as stub:
        client = openai.OpenAI(api_key="sk-test", base_url=stub.base_url)
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.emulators.server import ThreadedServer

_PROGRESSION = ["validating_files", "queued", "running", "running", "succeeded"]


def _error(status: int, message: str, code: str, param: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                   "code": code}}, status_code=status)


def _validate_chat_jsonl(content: bytes) -> str | None:
    """None when every line is a valid chat example, else the reason (as the service would say)."""
    lines = [ln for ln in content.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return "the file has no examples"
    for n, line in enumerate(lines, 1):
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            return f"line {n} is not JSON"
        msgs = doc.get("messages") if isinstance(doc, dict) else None
        if not isinstance(msgs, list) or not msgs:
            return f"line {n} has no 'messages' list"
        for m in msgs:
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                    or not isinstance(m.get("content"), str):
                return f"line {n} has a message without a valid role and string content"
        if msgs[-1]["role"] != "assistant":
            return f"line {n} does not end with an assistant message"
    return None


class OpenAIFineTuneStub:
    def __init__(self, api_key: str = "sk-test", fail_jobs: bool = False) -> None:
        self.api_key = api_key
        self.fail_jobs = fail_jobs
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self.app = self._build()
        self._runner: ThreadedServer | None = None
        self.port = 0

    # -- state helpers -------------------------------------------------------------------------
    def _event(self, job_id: str, message: str, level: str = "info") -> None:
        n = next(self._ids)
        self.events.setdefault(job_id, []).append({
            "id": f"ftevent-{n}", "object": "fine_tuning.job.event", "created_at": int(time.time()),
            "level": level, "message": message, "type": "message",
        })

    def _job_view(self, job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def _advance(self, job: dict[str, Any]) -> None:
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        step = job["_step"] = job["_step"] + 1
        if job["status"] == "validating_files":
            problem = _validate_chat_jsonl(self.files[job["training_file"]]["_content"])
            if problem is None and job.get("validation_file"):
                problem = _validate_chat_jsonl(self.files[job["validation_file"]]["_content"])
            if problem or self.fail_jobs:
                job["status"] = "failed"
                job["error"] = {"code": "invalid_training_file", "message": problem or "training failed",
                                "param": "training_file"}
                job["finished_at"] = int(time.time())
                self._event(job["id"], f"Job failed: {job['error']['message']}", "error")
                return
        status = _PROGRESSION[min(step, len(_PROGRESSION) - 1)]
        if status != job["status"]:
            job["status"] = status
            self._event(job["id"], f"Job {status.replace('_', ' ')}")
        if status == "succeeded":
            words = len(self.files[job["training_file"]]["_content"].split())
            epochs = job["hyperparameters"]["n_epochs"]
            job["trained_tokens"] = words * (epochs if isinstance(epochs, int) else 3)
            job["fine_tuned_model"] = f"ft:{job['model']}:casewright:{job.get('user_provided_suffix') or 'x'}:{job['id'][-6:]}"
            job["finished_at"] = int(time.time())
            self._event(job["id"], f"New fine-tuned model created: {job['fine_tuned_model']}")

    # -- the app ----------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI()
        stub = self

        @app.middleware("http")
        async def auth(request: Request, call_next):  # type: ignore[no-untyped-def]
            stub.requests.append((request.method, request.url.path))
            if request.headers.get("authorization") != f"Bearer {stub.api_key}":
                return _error(401, "Incorrect API key provided.", "invalid_api_key")
            return await call_next(request)

        @app.post("/v1/files")
        async def upload(request: Request) -> Any:
            body = await request.body()
            head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
            fields: dict[str, Any] = {}
            filename = None
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    filename = part.get_filename()
                    fields["file"] = payload
                elif name:
                    fields[name] = payload.decode()
            if "file" not in fields:
                return _error(400, "No file was uploaded.", "missing_file", "file")
            if fields.get("purpose") != "fine-tune":
                return _error(400, "purpose must be 'fine-tune' here", "invalid_purpose", "purpose")
            fid = f"file-{next(stub._ids):06d}"
            stub.files[fid] = {"id": fid, "object": "file", "bytes": len(fields["file"]),
                               "created_at": int(time.time()), "filename": filename or "upload.jsonl",
                               "purpose": "fine-tune", "status": "processed", "_content": fields["file"]}
            return {k: v for k, v in stub.files[fid].items() if not k.startswith("_")}

        @app.post("/v1/fine_tuning/jobs")
        async def create_job(request: Request) -> Any:
            body = await request.json()
            if not body.get("model"):
                return _error(400, "model is required", "missing_model", "model")
            for key in ("training_file", "validation_file"):
                fid = body.get(key)
                if fid and fid not in stub.files:
                    return _error(400, f"invalid {key}: {fid}", "invalid_file", key)
            if not body.get("training_file"):
                return _error(400, "training_file is required", "missing_file", "training_file")
            hp = ((body.get("method") or {}).get("supervised") or {}).get("hyperparameters") \
                or body.get("hyperparameters") or {}
            jid = f"ftjob-{next(stub._ids):06d}"
            job = {
                "id": jid, "object": "fine_tuning.job", "created_at": int(time.time()), "error": None,
                "fine_tuned_model": None, "finished_at": None,
                "hyperparameters": {"n_epochs": hp.get("n_epochs", "auto"), "batch_size": "auto",
                                    "learning_rate_multiplier": "auto"},
                "model": body["model"], "organization_id": "org-stub", "result_files": [],
                "seed": body.get("seed") or 0, "status": "validating_files", "trained_tokens": None,
                "training_file": body["training_file"], "validation_file": body.get("validation_file"),
                "user_provided_suffix": body.get("suffix"), "method": body.get("method"), "_step": 0,
            }
            stub.jobs[jid] = job
            stub._event(jid, "Validating training file")
            return stub._job_view(job)

        @app.get("/v1/fine_tuning/jobs/{job_id}")
        async def retrieve(job_id: str) -> Any:
            job = stub.jobs.get(job_id)
            if job is None:
                return _error(404, f"No such job: {job_id}", "not_found")
            stub._advance(job)
            return stub._job_view(job)

        @app.get("/v1/fine_tuning/jobs/{job_id}/events")
        async def events(job_id: str, limit: int = 20) -> Any:
            if job_id not in stub.jobs:
                return _error(404, f"No such job: {job_id}", "not_found")
            data = list(reversed(stub.events.get(job_id, [])))[:limit]
            return {"object": "list", "data": data, "has_more": False}

        return app

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "OpenAIFineTuneStub":
        self._runner = ThreadedServer(self.app, name="openai-fine-tuning-stub")
        self.port = self._runner.port
        self._runner.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            self._runner.close()
