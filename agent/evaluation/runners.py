"""The generators an evaluation runs: the rules, a chat model (an LLM or a fine-tuned one) and the
retrieval the +rag configurations put in front of either, indexing no held-out answer."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.configuration import Configuration
from agent.evaluation.datasets import Dataset
from agent.finetune.context import without_own_cases
from agent.generation.rules import generate_for_story
from agent.llm.generator import generator_for
from agent.llm.prompts import split_retrieved
from agent.llm.provider import ProviderKeys, parse_model
from agent.models import Story, UATCase
from connectors.chunking import criterion_chunks, story_chunk
from connectors.errors import CasewrightError


class Skip(Exception):
    """A configuration that cannot run here; the message is the reason shown in the report."""


@dataclass
class Generated:
    cases: list[UATCase]
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None


class Retriever:
    """Retrieval for the +rag configurations: a knowledge base in a temporary folder holding the
    dataset's stories, criteria and rule pages, and the approved cases of the training side only:
    no evaluated story's approved cases (its own or another's) are indexed, since they are the
    answers being measured. For an LAJ folder every ticket is evaluated, so no reference scenario
    is indexed at all."""

    def __init__(self, dataset: Dataset, settings: Any = None, encoder: Any = None) -> None:
        # imported here: without the knowledge base's store, evaluate() skips the +rag configurations
        from agent.knowledge import base, retrieval
        from agent.knowledge import config as store

        self._tmp = tempfile.TemporaryDirectory(prefix="casewright-eval-kb-")
        cfg = store.StoreConfig(data_dir=self._tmp.name,
                                    embedding_model=getattr(settings, "embedding_model", None) or store.DEFAULT_MODEL,
                                    top_k=int(getattr(settings, "retrieval_top_k", 5) or 5))
        self.top_k = cfg.top_k
        self.kb = base.open_knowledge_base(cfg, embedder=encoder)
        if dataset.workspace is not None:
            self.kb.sync(self._workspace_chunks(dataset, settings))
        else:
            self.kb.sync(self._laj_chunks(dataset))
        self._retrieval = retrieval

    @staticmethod
    def _workspace_chunks(dataset: Dataset, settings: Any = None) -> list[Any]:
        from agent.knowledge import sources

        evaluated = {item.story.key for item in dataset.items}
        chunks = sources.workspace_chunks(
            dataset.workspace,
            ac_field_name=getattr(settings, "ac_field_name", None) or "Acceptance Criteria",
            test_issue_type=getattr(settings, "test_issue_type", None) or "Test")
        # the evaluated stories' approved cases are the held-out answers: never in the index
        return [c for c in chunks
                if not (c.kind == "test_case" and (c.extra or {}).get("story_key") in evaluated)]

    @staticmethod
    def _laj_chunks(dataset: Dataset) -> list[Any]:
        # tickets and their criteria only: every ticket is evaluated, so every reference scenario
        # is a held-out answer and none is indexed
        chunks = []
        for s in dataset.all_stories:
            data = s.model_dump(exclude={"approved_cases"})
            chunks.append(story_chunk(data))
            chunks += criterion_chunks(data, [c.model_dump() for c in s.criteria])
        return chunks

    def for_story(self, story: Story) -> list[dict[str, Any]]:
        got = self._retrieval.retrieve_for_story(self.kb, story, top_k=self.top_k)
        return without_own_cases(got.as_context(), story.key)

    def close(self) -> None:
        try:
            self.kb.close()
        finally:
            self._tmp.cleanup()


class RulesRunner:
    def __init__(self, template: Any) -> None:
        self.template = template

    def generate(self, story: Story, retrieved: Sequence[dict[str, Any]]) -> Generated:
        return Generated(cases=generate_for_story(story, self.template, list(retrieved) or None).cases)


class LLMRunner:
    """A chat model through the same pieces the graph uses: provider factory, prompts, structured
    output with one repair, and the finaliser that applies the house template. No fallback to the
    rules: a story whose answer stays unusable counts as failed."""

    def __init__(self, model_value: str, settings: Any, template: Any, base_url: str | None = None,
                 overrides: dict[str, Any] | None = None) -> None:
        try:
            spec = parse_model(model_value)
        except CasewrightError as exc:
            raise Skip(str(exc)) from None
        if spec is None:
            raise Skip("the model is `rules`; set CASEWRIGHT_MODEL=provider:model (and its key) to evaluate an LLM")
        given = Configuration.from_settings(settings).llm if settings is not None else {}
        if base_url:
            given["model_base_url"] = base_url
        given.update(overrides or {})
        try:
            self.generator = generator_for(model_value, given, template,
                                           keys=ProviderKeys.from_settings(settings) if settings is not None else None)
        except CasewrightError as exc:
            raise Skip(str(exc)) from None
        self.spec = spec

    def generate(self, story: Story, retrieved: Sequence[dict[str, Any]]) -> Generated:
        rules, examples = split_retrieved(list(retrieved))
        out = self.generator.generate_story(story, rules=rules, examples=examples)
        tin = sum(int(v.get("input_tokens", 0)) for v in (out.usage or {}).values())
        tout = sum(int(v.get("output_tokens", 0)) for v in (out.usage or {}).values())
        if getattr(out, "fell_back", False):
            why = "; ".join(f.message for f in out.findings)[:300] or "the model's answer could not be used"
            return Generated(cases=[], input_tokens=tin, output_tokens=tout, error=why)
        return Generated(cases=list(out.cases), input_tokens=tin, output_tokens=tout)


class LocalServers:
    """The local model server (connectors/local_model.py) for the `llm` rows (the base GGUF) and
    the same server with the LoRA adapter for the `ft` rows, started when a row first needs one
    and stopped by close(): the four model rows differ only in retrieval and tuning."""

    def __init__(self, model_path: Any = None, lora_path: Any = None, threads: int | None = None,
                 overrides: dict[str, Any] | None = None) -> None:
        self.model_path, self.lora_path, self.threads = model_path, lora_path, threads
        self.overrides = overrides or {}
        self.started: list[Any] = []

    def runner(self, kind: str, settings: Any, template: Any) -> LLMRunner:
        from connectors.local_model import REQUEST_TIMEOUT_S, STRUCTURED_OUTPUT, LocalModelServer

        server = LocalModelServer(model_path=self.model_path, lora_path=self.lora_path if kind == "ft" else None,
                                  threads=self.threads, startup_timeout_s=300.0)
        try:
            server.start()
        except CasewrightError as exc:
            raise Skip(f"the local model server did not start: {exc}") from None
        self.started.append(server)
        # the ordinary 120 s timeout makes a loaded CPU server's rows fail (timed out, retried behind
        # the abandoned answer): the local rows wait as long as the server needs
        timeout = max(REQUEST_TIMEOUT_S, float(getattr(settings, "llm_timeout_s", 0) or 0))
        opts = {"structured_output": STRUCTURED_OUTPUT, "temperature": 0.0, "llm_timeout_s": timeout,
                **self.overrides}
        return LLMRunner(f"openai-compatible:{server.alias}", settings, template, base_url=server.base_url,
                         overrides=opts)

    def close(self) -> None:
        for server in self.started:
            server.stop()
        self.started.clear()
