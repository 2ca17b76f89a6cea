"""End-to-end journeys: one case per planned flow, each story's first positive case one leg."""

from __future__ import annotations

from agent.generation.phrasing import sentence
from agent.generation.template import HouseTemplate
from agent.models import Flow, SourceRef, Step, Story, UATCase


def generate_flow_cases(flows: list[Flow], stories: list[Story], cases: list[UATCase],
                        template: HouseTemplate, epic_key: str) -> list[UATCase]:
    """One end-to-end case per flow: each story's first positive case becomes one leg of the journey."""
    by_key = {s.key: s for s in stories}
    opening = {template.opening_step.action} if template.opening_step else set()
    first_positive: dict[str, UATCase] = {}
    for c in cases:
        if c.kind == "positive":
            first_positive.setdefault(c.story_key, c)
    out: list[UATCase] = []
    for n, flow in enumerate(flows, start=1):
        steps: list[Step] = []
        criterion_ids: list[str] = []
        sources: list[SourceRef] = []
        personas: list[str] = []
        for key in flow.story_keys:
            story = by_key.get(key)
            leg = first_positive.get(key)
            if story is None or leg is None:
                continue
            main = next((s for s in leg.steps if s.action not in opening), leg.steps[-1])
            steps.append(Step(action=f"[{key}] {main.action}", data=main.data, expected=leg.steps[-1].expected))
            criterion_ids += leg.criterion_ids[:1]
            sources.append(story.source())
            personas.append(leg.persona)
        if len(steps) < 2:
            continue
        persona = max(set(personas), key=personas.count)
        out.append(UATCase(
            id=template.case_id(epic_key, n).replace("-UAT-", "-E2E-") if "-UAT-" in template.id_pattern
            else f"{epic_key}-E2E-{n:02d}",
            title=template.title(f"the {flow.name} journey works end to end"),
            objective=sentence(f"Walk one customer through {flow.name}, where each step's outcome feeds the next"
                               + (f" ({flow.rationale})" if flow.rationale else "")),
            persona=persona,
            preconditions=template.preconditions(persona, api=persona == "API consumer")
            + ["One customer account is used for the whole journey"],
            steps=steps,
            priority=template.priority("end_to_end", flow.name),
            kind="end_to_end",
            story_key=flow.story_keys[0],
            criterion_ids=criterion_ids,
            sources=sources,
            labels=template.labels_for("end_to_end", flow.story_keys[0], epic_key),
            confidence="medium",
        ))
    return out
