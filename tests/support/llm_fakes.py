"""Fake chat models for the LLM graph tests, built on langchain-core's fake chat models.

`ScriptedChatModel` answers each call with `script(messages)` (an AIMessage or a string), so parallel
graph branches get answers that depend on their own prompt rather than on call order. It records
every prompt it received. `ToolCallingChatModel` also supports `bind_tools`, so casewright asks it
for structured output in tool-calling form and it answers with a tool call.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Callable

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

STORY_RE = re.compile(r'<story key="([^"]+)"')
CRITERION_RE = re.compile(r"^- \[([A-Z]+-\d+/AC-\d+)\] (.+)$", re.M)


class ScriptedChatModel(FakeMessagesListChatModel):
    """responses is unused; answers come from `script(messages)`."""

    responses: list = []
    script: Callable[[list[BaseMessage]], Any]
    _prompts: list = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def prompts(self) -> list[list[BaseMessage]]:
        return self._prompts

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:  # noqa: ANN001
        with self._lock:
            self._prompts.append(list(messages))
        answer = self.script(list(messages))
        if isinstance(answer, str):
            answer = AIMessage(content=answer)
        if answer.usage_metadata is None:
            text = " ".join(str(m.content) for m in messages)
            answer.usage_metadata = {"input_tokens": len(text) // 4, "output_tokens": len(str(answer.content)) // 4 + 1,
                                     "total_tokens": len(text) // 4 + len(str(answer.content)) // 4 + 1}
        return ChatResult(generations=[ChatGeneration(message=answer)])


class ToolCallingChatModel(ScriptedChatModel):
    """A scripted model that accepts tools, so structured output goes through tool calls."""

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):  # noqa: ANN001, ANN201
        return self


# -- helpers for scripts -------------------------------------------------------------------------

def user_text(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages if m.type == "human")


def first_prompt(messages: list[BaseMessage]) -> str:
    humans = [m for m in messages if m.type == "human"]
    return str(humans[0].content) if humans else ""


def story_key(messages: list[BaseMessage]) -> str | None:
    m = STORY_RE.search(first_prompt(messages))
    return m.group(1) if m else None


def criteria(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return CRITERION_RE.findall(first_prompt(messages))


def is_plan(messages: list[BaseMessage]) -> bool:
    return first_prompt(messages).startswith("Plan the UAT work")


def is_revise(messages: list[BaseMessage]) -> bool:
    return first_prompt(messages).startswith("A reviewer checked the cases")


def case(key: str, crit_ids: list[str], text: str, n: int = 1) -> dict[str, Any]:
    return {
        "id": f"X-{n}", "title": f"Verify that {text[:60]}", "objective": f"Check {text[:80]}",
        "persona": "Contact Centre Agent", "preconditions": ["I am logged in to the service console"],
        "test_data": {"account": "an Active residential account"},
        "steps": [{"action": f"Do what {crit_ids[0]} describes ({n})", "data": "", "expected": text}],
        "priority": "High", "kind": "positive", "story_key": key, "criterion_ids": crit_ids,
    }


def cases_json(key: str, crits: list[tuple[str, str]]) -> str:
    return json.dumps({"cases": [case(key, [cid], text, n) for n, (cid, text) in enumerate(crits, 1)]})


def plan_json(keys: list[str]) -> str:
    return json.dumps({"story_keys": keys, "flows": [], "notes": ""})
