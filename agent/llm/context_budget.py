"""A story's prompt, fitted to the model's context window.

The window (CASEWRIGHT_MODEL_CONTEXT_TOKENS, or the model family's default in registry.py) must
hold the system prompt, the user prompt and the answer (CASEWRIGHT_MAX_TOKENS). The criteria are
never dropped: a story with more of them than one call takes (CASEWRIGHT_CRITERIA_PER_CALL, or
than fit) is split into batches whose cases are merged. Retrieved rules and few-shot examples
are dropped when they do not fit, lowest-ranked first (each list is best first; of two items the
one further down its list goes first, an example before a rule at the same rank), and the caller
reports what was dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from agent.llm.limits import estimate_tokens
from agent.models import Story

T = TypeVar("T")
Render = Callable[[Story, list, list], str]


@dataclass(frozen=True)
class ContextBudget:
    window_tokens: int
    answer_tokens: int
    system_tokens: int = 0
    criteria_per_call: int = 40

    @property
    def prompt_tokens(self) -> int:
        """What the user prompt may take."""
        return self.window_tokens - self.answer_tokens - self.system_tokens

    def fits(self, prompt: str) -> bool:
        return estimate_tokens(prompt) <= self.prompt_tokens

    def batches(self, story: Story, render: Render) -> list[Story]:
        """The story split into parts whose criteria fit one call (at most criteria_per_call each,
        halved while even the bare prompt is too long); one part when it is small."""
        criteria = list(story.criteria)
        size = max(1, self.criteria_per_call)
        if len(criteria) <= size and self.fits(render(story, [], [])):
            return [story]
        parts = [story.model_copy(update={"criteria": criteria[i:i + size]})
                 for i in range(0, len(criteria), size)] or [story]
        out: list[Story] = []
        while parts:
            part = parts.pop(0)
            if len(part.criteria) > 1 and not self.fits(render(part, [], [])):
                half = len(part.criteria) // 2
                parts[:0] = [part.model_copy(update={"criteria": part.criteria[:half]}),
                             part.model_copy(update={"criteria": part.criteria[half:]})]
                continue
            out.append(part)
        return out

    def fit(self, story: Story, render: Render, rules: Sequence[Any], examples: Sequence[Any]
            ) -> tuple[list[Any], list[Any], list[Any]]:
        """(rules kept, examples kept, dropped lowest-ranked first) so that the prompt fits."""
        kept_rules, kept_examples = list(rules), list(examples)
        dropped: list[Any] = []
        while (kept_rules or kept_examples) and not self.fits(render(story, kept_rules, kept_examples)):
            if len(kept_examples) >= len(kept_rules):
                dropped.append(kept_examples.pop())
            else:
                dropped.append(kept_rules.pop())
        return kept_rules, kept_examples, dropped
