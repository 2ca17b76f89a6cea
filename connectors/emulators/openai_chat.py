"""A local OpenAI-compatible chat-completions server, for tests and benchmarks.

No language model can run here, so the LLM path of casewright is exercised against this stub
over real HTTP with the real `openai` / `langchain-openai` clients. It speaks the parts of the
Chat Completions API those clients use:

- `POST /v1/chat/completions`: answers in the form the request asks for. With
  `response_format: {type: json_schema}` (structured output) or no tools, the answer is the
  message content (a JSON string); with `tools` (function calling) it is a tool call to the
  requested function with the JSON as its arguments. Usage token counts are always included.
- `POST /openai/deployments/{deployment}/chat/completions?api-version=...`: the same, on the
  route Azure OpenAI's client calls (deployment, api version and `api-key` header are recorded).
- `GET /v1/models`: the one model it serves.

Behaviour is configurable per test: a fixed latency per call (asyncio sleep, so concurrent
calls overlap as they would against a real provider), queued faults (an HTTP status with an
optional `Retry-After`, malformed JSON in the content or in the HTTP body), and the answer
function that turns a request into the JSON answer. Every request is recorded.

The default answer function (`uat_responder`) reads the conventions of casewright's prompts
(`<story key="...">`, criterion lines `[KEY/AC-n] text`) and answers a plan or a batch of
UAT cases that cover each criterion with its own words, so a run against it is complete and
grounded; asked for a coverage judgement (`<test>`, `<criterion>`), it answers by word overlap. It knows nothing of casewright's Python types: connectors never import the agent.

    with OpenAIStub(latency_s=0.5) as stub:
        ChatOpenAI(model="stub", base_url=stub.base_url, api_key="x")
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from connectors.emulators.server import ThreadedServer

Responder = Callable[[dict[str, Any]], Any]

_STORY = re.compile(r'<story key="([^"]+)"[^>]*>(.*?)</story>', re.S)
_CRITERION = re.compile(r"^\s*-?\s*\[([A-Za-z][A-Za-z0-9_]*-\d+/AC-\d+)\]\s*(.+?)\s*$", re.M)
_SUMMARY = re.compile(r"^\s*Summary:\s*(.+?)\s*$", re.M)


@dataclass
class Fault:
    """One queued misbehaviour, consumed by the next request."""

    status: int = 500
    retry_after: float | None = None
    malformed: str | None = None  # "content": 200 with broken JSON content; "body": broken HTTP body
    message: str = "stub fault"


@dataclass
class RecordedRequest:
    body: dict[str, Any]
    received_at: float
    status: int = 200
    form: str = ""  # "json_schema", "tools", "json_object" or "text"
    authorization: str = ""  # the Authorization header the client sent
    path: str = ""           # the URL path (Azure OpenAI names the deployment there)
    query: dict[str, str] = field(default_factory=dict)  # e.g. Azure's api-version
    api_key: str = ""        # the api-key header (Azure OpenAI's way of sending the key)

    @property
    def schema_name(self) -> str | None:
        return requested_schema_name(self.body)


@dataclass
class OpenAIStub:
    """The stub server. Use as a context manager, or call start() / stop()."""

    responder: Responder | None = None
    latency_s: float = 0.0
    model: str = "casewright-stub"
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._runner: ThreadedServer | None = None
        self.port = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.app = self._build_app()

    # -- control -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, status: int = 500, *, retry_after: float | None = None, times: int = 1,
                  message: str = "stub fault") -> None:
        """The next `times` requests get HTTP `status` (with `Retry-After` when given)."""
        with self._lock:
            self._faults.extend(Fault(status=status, retry_after=retry_after, message=message)
                                for _ in range(times))

    def malformed_next(self, where: str = "content", times: int = 1) -> None:
        """The next `times` answers carry broken JSON: in the message content, or as the HTTP body."""
        if where not in ("content", "body"):
            raise ValueError("where must be 'content' or 'body'")
        with self._lock:
            self._faults.extend(Fault(status=200, malformed=where) for _ in range(times))

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.max_in_flight = 0

    def start(self) -> OpenAIStub:
        self._runner = ThreadedServer(self.app, name="openai-stub", timeout_keep_alive=30, backlog=256)
        self.port = self._runner.port
        self._runner.start()
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.close()
        self._runner = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API -----------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI(title="OpenAI-compatible stub", docs_url=None, redoc_url=None)

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list",
                    "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "casewright"}]}

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request):  # noqa: ANN202
            return await answer_request(request)

        @app.post("/openai/deployments/{deployment}/chat/completions")
        async def azure_chat_completions(request: Request, deployment: str):  # noqa: ANN202
            """Azure OpenAI's route: the deployment in the path, the API version in the query."""
            return await answer_request(request)

        async def answer_request(request: Request):  # noqa: ANN202
            raw = await request.body()
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "request body is not JSON", "invalid_request_error")
            record = RecordedRequest(body=body, received_at=time.time(), form=_form(body),
                                     authorization=request.headers.get("authorization", ""),
                                     path=request.url.path, query=dict(request.query_params),
                                     api_key=request.headers.get("api-key", ""))
            with self._lock:
                self.requests.append(record)
                fault = self._faults.popleft() if self._faults else None
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                if fault is not None and fault.malformed is None:
                    record.status = fault.status
                    headers = {}
                    if fault.retry_after is not None:
                        headers["Retry-After"] = _fmt_seconds(fault.retry_after)
                    kind = "rate_limit_error" if fault.status == 429 else "server_error"
                    return _error(fault.status, fault.message, kind, headers)
                if fault is not None and fault.malformed == "body":
                    return PlainTextResponse('{"id": "chatcmpl-broken", "choices": [', status_code=200,
                                             media_type="application/json")
                if body.get("stream"):
                    record.status = 400
                    return _error(400, "the stub does not stream", "invalid_request_error")
                responder = self.responder or uat_responder
                answer = responder(body)
                if fault is not None and fault.malformed == "content":
                    text = _answer_text(answer)
                    answer = text[: max(1, len(text) // 2)]  # cut mid-document: not JSON any more
                return self._completion(body, answer, record)
            finally:
                with self._lock:
                    self.in_flight -= 1

        return app

    def _completion(self, body: dict[str, Any], answer: Any, record: RecordedRequest) -> dict[str, Any]:
        text = _answer_text(answer)
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        finish = "stop"
        if record.form == "tools":
            name = requested_schema_name(body) or "answer"
            message["content"] = None
            message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                      "function": {"name": name, "arguments": text}}]
            finish = "tool_calls"
        prompt_tokens = count_tokens(" ".join(_message_text(m) for m in body.get("messages", [])))
        completion_tokens = count_tokens(text)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "system_fingerprint": "casewright-stub",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


# -- helpers -----------------------------------------------------------------------------------

def count_tokens(text: str) -> int:
    """A rough token count (about four characters a token), enough for usage accounting."""
    return max(1, (len(text) + 3) // 4) if text else 0


def requested_schema_name(body: dict[str, Any]) -> str | None:
    """The name of the schema or function the request wants filled in, if any."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("name")
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    tools = body.get("tools") or []
    if tools:
        return (tools[0].get("function") or {}).get("name")
    return None


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            return _message_text(message)
    return ""


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(_message_text(m) for m in body.get("messages", []) if m.get("role") == "user")


def _form(body: dict[str, Any]) -> str:
    fmt = (body.get("response_format") or {}).get("type")
    if fmt in ("json_schema", "json_object"):
        return fmt
    if body.get("tools"):
        return "tools"
    return "text"


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _answer_text(answer: Any) -> str:
    return answer if isinstance(answer, str) else json.dumps(answer)


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}},
                        status_code=status, headers=headers or {})


# -- the default answers ---------------------------------------------------------------------

def uat_responder(body: dict[str, Any]) -> dict[str, Any]:
    """Answer a casewright request: a plan when a plan is asked for, else cases for the story.

    Cases take the criteria's own words, so they are covered and grounded by construction;
    a test that wants a flawed answer passes its own responder.
    """
    name = (requested_schema_name(body) or "").lower()
    text = user_text(body)
    if "plan" in name:
        return plan_answer(text)
    if "judge" in name:
        return judge_answer(text)
    return cases_answer(text)


_TEST = re.compile(r'<test key="[^"]*">(.*?)</test>', re.S)
_JUDGED = re.compile(r'<criterion id="[^"]*">(.*?)</criterion>', re.S)


def judge_answer(prompt: str) -> dict[str, Any]:
    """The coverage judge's verdict: the test verifies the criterion when it states at least half of
    the criterion's longer words (a plain rule, so a run against the stub is repeatable)."""
    test, crit = _TEST.search(prompt), _JUDGED.search(prompt)
    if not test or not crit:
        return {"verifies": False, "reason": "no test or criterion in the question"}
    words = {w for w in re.findall(r"\w+", crit.group(1).lower()) if len(w) > 3}
    found = words & set(re.findall(r"\w+", test.group(1).lower()))
    share = len(found) / len(words) if words else 0.0
    return {"verifies": share >= 0.5, "reason": f"the test states {len(found)} of the criterion's {len(words)} words"}


def plan_answer(prompt: str) -> dict[str, Any]:
    keys = [m.group(1) for m in _STORY.finditer(prompt)]
    flows = []
    if len(keys) >= 2:
        legs = keys[: min(3, len(keys))]
        flows.append({"name": "End-to-end journey across the epic", "story_keys": legs,
                      "rationale": "Each story's outcome is the next one's starting point.",
                      "links": [{"source": a, "target": b, "what": f"the record {a} produces",
                                 "statement": f"The record produced in {a} is the one {b} starts from."}
                                for a, b in zip(legs, legs[1:])]})
    return {"story_keys": keys, "flows": flows, "notes": ""}


def cases_answer(prompt: str) -> dict[str, Any]:
    match = _STORY.search(prompt)
    if not match:
        return {"cases": []}
    key, inner = match.group(1), match.group(2)
    summary_match = _SUMMARY.search(inner)
    summary = summary_match.group(1) if summary_match else key
    criteria = {}
    for crit in _CRITERION.finditer(prompt):
        if crit.group(1).startswith(key + "/"):
            criteria.setdefault(crit.group(1), crit.group(2))
    cases = []
    for n, (crit_id, crit_text) in enumerate(criteria.items(), start=1):
        crit_text = re.sub(r"\s*\(vague: [^)]*\)$", "", crit_text)
        cases.append({
            "id": f"{key}-TC-{n:02d}",
            "title": f"Verify that {crit_text[0].lower()}{crit_text[1:]}".rstrip("."),
            "objective": f"Confirm the behaviour required by {crit_id}: {crit_text}",
            "persona": "Contact-centre agent",
            "preconditions": [f"The agent is signed in and works on: {summary}"],
            "test_data": {},
            "steps": [
                {"action": f"Set up the situation the criterion describes: {crit_text}", "data": f"{key}: {summary}",
                 "expected": "The console accepts the input"},
                {"action": "Complete the action and observe the outcome", "data": "",
                 "expected": crit_text},
            ],
            "priority": "High" if n == 1 else "Medium",
            "kind": "positive",
            "story_key": key,
            "criterion_ids": [crit_id],
            "sources": [],
            "labels": [],
            "confidence": "high",
            "notes": "",
        })
    return {"cases": cases}
