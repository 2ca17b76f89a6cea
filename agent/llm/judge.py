"""The coverage judge: a language model decides the borderline pairs of the mapping.

agent/review/mapping.py hands the judge each (existing test, criterion) pair whose similarity is
within JUDGE_MARGIN of the threshold. The judge asks the run's chat model (the one the generator
uses, agent/llm/generator.py) whether the test verifies the criterion, in the `coverage_judgement`
schema (`{"verifies": bool, "reason": str}`), with one repair (agent/llm/structured.py). Its
answer decides the link (`how="judge"`); its calls and tokens are counted under the `map_tests`
node in the run's usage report.

A judge that cannot answer never stops the run: an answer still invalid after the repair leaves
that pair to the similarity threshold; an API that keeps failing (429 or 5xx after the client's
retries, timeouts, any other error but a configuration one) leaves that pair and every later one
to the threshold. Both are reported as one warning finding per story. Configuration errors (a
refused key, an unknown model) propagate as they do for the generator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from agent.llm import prompts
from agent.llm.limits import RateLimits
from agent.llm.provider import ModelConfigError, ModelSpec
from agent.llm.schemas import JUDGE_SCHEMA, JudgeAnswer
from agent.llm.structured import LLMUnavailable, StructuredCaller, ask
from agent.llm.usage import Ledger
from agent.models import AcceptanceCriterion, ExistingTest, Finding

NODE = "map_tests"
"""The usage report counts judge calls under the node that maps tests."""
JUDGE_FAILED = "coverage-judge-failed"
JUDGED = "coverage-judge"


@dataclass
class Judgement:
    test_key: str
    criterion_id: str
    similarity: float
    verifies: bool | None
    """The model's answer; None when it could not answer and the threshold decided."""
    reason: str = ""


@dataclass
class ModelJudge:
    """A mapping judge (agent/review/mapping.py `Judge`) backed by a chat model. One per run."""

    model: Any
    spec: ModelSpec
    method: str = "json_schema"
    limits: RateLimits = field(default_factory=RateLimits)
    ledger: Ledger = field(default_factory=Ledger)
    judgements: list[Judgement] = field(default_factory=list)
    gave_up: str | None = None
    """Why the judge stopped asking (the API kept failing); None while it still asks."""

    def __post_init__(self) -> None:
        self.caller = StructuredCaller(self.model, JUDGE_SCHEMA, self.method)
        self._lock = threading.Lock()

    @classmethod
    def of(cls, generator: Any) -> "ModelJudge":
        """The judge that asks the same chat model, in the same structured-output form, as the generator."""
        return cls(generator.model, spec=generator.spec, method=generator.method, limits=generator.limits)

    def __call__(self, test: ExistingTest, criterion: AcceptanceCriterion, similarity: float) -> bool | None:
        """True/False: the model's verdict; None: no verdict, the threshold decides."""
        if self.gave_up is not None:
            return self._record(test, criterion, similarity, None, self.gave_up)
        prompt = prompts.render_judge(test.key, test.title, test.text, criterion.id, criterion.text,
                                      schema=self.caller.schema_in_prompt)
        try:
            answer, error, _ = ask(self.caller, prompt, JudgeAnswer.model_validate, NODE, self.ledger, self.spec,
                                   self.limits.tokens, system=prompts.load_template("judge_system").template.strip())
        except ModelConfigError:
            raise
        except LLMUnavailable as exc:
            self.gave_up = f"the model API kept failing: {' '.join(str(exc).split())[:200]}"
            return self._record(test, criterion, similarity, None, self.gave_up)
        except Exception as exc:  # noqa: BLE001 - a provider SDK's own error: no verdict, never a crash
            self.gave_up = f"the model call failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            return self._record(test, criterion, similarity, None, self.gave_up)
        if answer is None:
            return self._record(test, criterion, similarity, None,
                                "its answer stayed invalid after one repair: " + " ".join((error or "").split())[:200])
        return self._record(test, criterion, similarity, answer.verifies, " ".join(answer.reason.split())[:300])

    def _record(self, test: ExistingTest, criterion: AcceptanceCriterion, similarity: float,
                verifies: bool | None, reason: str) -> bool | None:
        with self._lock:
            if verifies is None:
                self.ledger.count(NODE, fallbacks=1)
            self.judgements.append(Judgement(test.key, criterion.id, round(similarity, 4), verifies, reason))
        return verifies

    def findings(self, story_of: dict[str, str]) -> list[Finding]:
        """Per story (`story_of`: criterion id -> story key): an info finding with the verdicts and
        their reasons, and a warning for the pairs the judge could not decide."""
        out: list[Finding] = []
        stories = list(dict.fromkeys(story_of.get(j.criterion_id, "") for j in self.judgements))
        for story in stories:
            mine = [j for j in self.judgements if story_of.get(j.criterion_id, "") == story]
            decided = [j for j in mine if j.verifies is not None]
            failed = [j for j in mine if j.verifies is None]
            if decided:
                out.append(Finding(severity="info", code=JUDGED, story_key=story or None, message=(
                    f"The model judged {len(decided)} borderline pair(s): " + "; ".join(
                        f"{j.test_key} {'verifies' if j.verifies else 'does not verify'} {j.criterion_id} "
                        f"(similarity {j.similarity:.2f}{': ' + j.reason if j.reason else ''})" for j in decided))))
            if failed:
                out.append(Finding(severity="warning", code=JUDGE_FAILED, story_key=story or None, message=(
                    f"The model judge could not decide {len(failed)} borderline pair(s) "
                    f"({', '.join(f'{j.test_key} / {j.criterion_id}' for j in failed)}): {failed[0].reason}; "
                    "the similarity threshold decided them")))
        return out
