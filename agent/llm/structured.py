"""Asking a language model for an answer in a JSON schema, and repairing it once.

The schema is asked for in the provider's structured-output mode (`json_schema`), its
tool-calling mode (`function_calling`), JSON mode, or, for a model with none of these, in the
prompt (`prompt`). The answer is parsed strictly (a truncated document is an error, not a partial
object) and validated by the caller's check; an answer that fails is sent back once with the
error. Calls that keep failing with rate limits or server errors after the client's retries raise
LLMUnavailable; every call's tokens, repairs and failures are counted in the node's Ledger.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from agent.llm import prompts
from agent.llm.limits import TokenBudget, estimate_tokens
from agent.llm.provider import ModelConfigError, ModelSpec, describe_config_failure
from agent.llm.usage import Ledger
from connectors.errors import is_transient


CUT_OFF = "the answer was cut off at the token limit; answer more briefly"


class AnswerInvalid(ValueError):
    """The model's answer does not fit the schema or the story; the message goes back to the model."""


class LLMUnavailable(RuntimeError):
    """Calls keep failing (rate limit, server error, timeout) after the client's retries."""

    transient = True  # worth retrying later: a background job does (workers/tasks.py)


def _tokens(message: Any) -> tuple[int, int]:
    meta = getattr(message, "usage_metadata", None) or {}
    if meta:
        return int(meta.get("input_tokens", 0) or 0), int(meta.get("output_tokens", 0) or 0)
    usage = (getattr(message, "response_metadata", None) or {}).get("token_usage") or {}
    return int(usage.get("prompt_tokens", 0) or 0), int(usage.get("completion_tokens", 0) or 0)


@dataclass
class Reply:
    parsed: Any
    text: str          # the raw answer (content or tool-call arguments), for the repair message
    error: str | None  # why it could not be parsed, if it could not


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def _parse_json_text(text: str) -> Any:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body.startswith("{"):
        start = body.find("{")
        end = body.rfind("}")
        if start >= 0 and end > start:
            body = body[start:end + 1]
    return json.loads(body)


def _message_text(message: Any) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _raw_answer_text(message: Any) -> str:
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        return json.dumps(calls[0].get("args", {}))
    bad = getattr(message, "invalid_tool_calls", None) or []
    if bad:
        return str(bad[0].get("args") or "")
    return _message_text(message)


class StructuredCaller:
    """One schema, one model, one way of asking for structure."""

    def __init__(self, model: Any, schema: dict[str, Any], method: str):
        self.model = model
        self.max_answer_tokens = int(getattr(model, "max_tokens", None) or 0)
        self.schema = schema
        self.method = method
        self.runnable = None
        if method != "prompt":
            try:
                kwargs: dict[str, Any] = {"include_raw": True}
                if method != "auto":
                    kwargs["method"] = method
                self.runnable = model.with_structured_output(schema, **kwargs)
            except NotImplementedError:
                self.method = "prompt"  # the model has no structured mode: the schema goes in the prompt
            except TypeError:
                self.runnable = model.with_structured_output(schema, include_raw=True)

    @property
    def schema_in_prompt(self) -> dict[str, Any] | None:
        return self.schema if self.method in ("prompt", "json_mode") else None

    def __call__(self, messages: list[BaseMessage]) -> tuple[Reply, tuple[int, int]]:
        if self.runnable is None:
            message = self.model.invoke(messages)
            text = _message_text(message)
            try:
                return Reply(_parse_json_text(text), text, None), _tokens(message)
            except ValueError as exc:
                return Reply(None, text, f"the answer is not valid JSON ({exc})"), _tokens(message)
        out = self.runnable.invoke(messages)
        raw = out.get("raw")
        text = _raw_answer_text(raw)
        error = out.get("parsing_error")
        parsed = out.get("parsed")
        finish = (getattr(raw, "response_metadata", None) or {}).get("finish_reason")
        if finish == "length":
            return Reply(None, text, CUT_OFF), _tokens(raw)
        if not getattr(raw, "tool_calls", None):
            # content answers are parsed strictly: langchain's JSON parser accepts a truncated
            # document as a partial object, which could pass validation with cases missing
            parsed, error = None, None
        if parsed is None and error is None:
            try:  # e.g. tool-calling mode where the model answered in plain content
                parsed = _parse_json_text(text)
            except ValueError as exc:
                error = f"the answer is not valid JSON ({exc})"
        tokens = _tokens(raw)
        if error is not None and self.max_answer_tokens and tokens[1] >= self.max_answer_tokens:
            # a server may report a forced tool call as finished (llama-cpp-python does) when the
            # limit cut its arguments off: an answer that used every token and does not parse was cut
            error = CUT_OFF
        return Reply(parsed, text, str(error) if error else None), tokens


def _validation_message(exc: ValidationError | AnswerInvalid, limit: int = 12) -> str:
    if isinstance(exc, ValidationError):
        lines = []
        for err in exc.errors()[:limit]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
            lines.append(f"- {where}: {err.get('msg')}")
        more = len(exc.errors()) - limit
        if more > 0:
            lines.append(f"- ... and {more} more")
        return "It does not match the schema:\n" + "\n".join(lines)
    return str(exc)


_OVERFLOW = re.compile(r"context (length|window)|maximum context|too many tokens|exceeds? the context", re.I)


def _context_overflow(exc: BaseException) -> bool:
    """HTTP 400 because the request is longer than the model's context window."""
    return getattr(exc, "status_code", None) == 400 and bool(_OVERFLOW.search(str(exc)))


def _prompt_tokens(messages: list[BaseMessage], caller: StructuredCaller) -> int:
    return estimate_tokens("".join(_message_text(m) for m in messages)) + caller.max_answer_tokens


def ask(caller: StructuredCaller, user: str, validate: Callable[[Any], Any], node: str,
        ledger: Ledger, spec: ModelSpec, budget: TokenBudget | None = None,
        system: str | None = None) -> tuple[Any, str | None, bool]:
    """One question, one repair: (validated result or None, last error, repaired?). `validate` raises
    ValidationError or AnswerInvalid for an answer that does not fit; that error goes back to the model.
    With a token budget, each call waits until its prompt and answer fit the minute's tokens.
    `system`: another system prompt than the case writer's (the coverage judge's)."""
    messages: list[BaseMessage] = [SystemMessage(system or prompts.system_prompt()), HumanMessage(user)]
    error: str | None = None
    for attempt in range(2):
        slot = budget.acquire(_prompt_tokens(messages, caller)) if budget is not None else None
        tin = tout = 0
        try:
            reply, (tin, tout) = caller(messages)
        except ModelConfigError:
            raise
        except json.JSONDecodeError as exc:
            # the HTTP body itself was broken (not the model's JSON): ask the same question again
            ledger.count(node, failures=1)
            error = f"the provider's response was not valid JSON ({exc})"
            continue
        except Exception as exc:  # noqa: BLE001 - provider SDKs raise many types
            line = describe_config_failure(exc, spec)
            if line:
                raise ModelConfigError(line) from None
            ledger.count(node, failures=1)
            if is_transient(exc):
                raise LLMUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
            if _context_overflow(exc):
                # a repair prompt carries the previous answer, so it can outgrow the window:
                # the story is then answered like one whose output stayed invalid
                return None, ("the prompt and answer did not fit the model's context window "
                              f"(the server said: {' '.join(str(exc).split())[:200]}); set "
                              "CASEWRIGHT_MODEL_CONTEXT_TOKENS to the server's window"), attempt > 0
            raise
        finally:
            if slot is not None:
                budget.settle(slot, tin + tout)
        ledger.count(node, calls=1, input_tokens=tin, output_tokens=tout, repairs=attempt)
        if reply.error is None:
            try:
                return validate(reply.parsed), None, attempt > 0
            except ValidationError as exc:
                error = _validation_message(exc)
            except AnswerInvalid as exc:
                error = str(exc)
        else:
            error = reply.error
        messages = [*messages[:2], HumanMessage(prompts.repair_prompt(error, reply.text))]
    return None, error, True
