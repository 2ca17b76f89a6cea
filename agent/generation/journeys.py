"""End-to-end journeys: one case per planned flow. Each story of the flow is one leg, taken from its
positive case for the criterion the link names (the one that produces what the next leg needs, or
the one that needs it), and every leg after the first says what it starts from."""

from __future__ import annotations

from agent.generation.phrasing import sentence
from agent.generation.template import HouseTemplate
from agent.models import Flow, FlowLink, SourceRef, Step, Story, UATCase


def _leg_case(cases: list[UATCase], key: str, criteria: list[str]) -> UATCase | None:
    """The story's positive case for the first of `criteria` it has, else its first positive case."""
    positive = [c for c in cases if c.story_key == key and c.kind == "positive"]
    for cid in criteria:
        found = next((c for c in positive if cid and cid in c.criterion_ids), None)
        if found:
            return found
    return positive[0] if positive else None


def _and(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else f"{', '.join(keys[:-1])} and {keys[-1]}"


def generate_flow_cases(flows: list[Flow], stories: list[Story], cases: list[UATCase],
                        template: HouseTemplate, epic_key: str) -> list[UATCase]:
    """One end-to-end case per flow whose legs are linked: each story's case becomes one leg, and
    the link (the record, state or document an earlier leg produced) is stated in the step, the
    objective and the notes."""
    by_key = {s.key: s for s in stories}
    opening = {template.opening_step.action} if template.opening_step else set()
    out: list[UATCase] = []
    for flow in flows:
        into: dict[str, FlowLink] = {lk.target: lk for lk in flow.links}
        out_of: dict[str, list[FlowLink]] = {}
        for lk in flow.links:
            out_of.setdefault(lk.source, []).append(lk)
        steps: list[Step] = []
        criterion_ids: list[str] = []
        sources: list[SourceRef] = []
        personas: list[str] = []
        for n, key in enumerate(flow.story_keys):
            story, link = by_key.get(key), into.get(key)
            if story is None or (n and link is None):
                continue  # a leg that starts from nothing an earlier one produced is no journey leg
            wanted = ([link.target_criterion] if link else []) + [lk.source_criterion for lk in out_of.get(key, [])]
            leg = _leg_case(cases, key, wanted)
            if leg is None:
                continue
            main = next((s for s in leg.steps if s.action not in opening), leg.steps[-1])
            data = f"the {link.what} from {link.source}" if link else main.data
            steps.append(Step(action=f"[{key}] {main.action}", data=data, expected=leg.steps[-1].expected))
            criterion_ids += [c for c in wanted if c and c in leg.criterion_ids][:1] or leg.criterion_ids[:1]
            sources.append(story.source())
            personas.append(leg.persona)
        if len(steps) < 2:
            continue
        statements = [lk.statement for lk in flow.links if lk.target in flow.story_keys]
        persona = max(set(personas), key=personas.count)
        n = len(out) + 1
        out.append(UATCase(
            id=template.case_id(epic_key, n).replace("-UAT-", "-E2E-") if "-UAT-" in template.id_pattern
            else f"{epic_key}-E2E-{n:02d}",
            title=template.title(f"one journey carries the {flow.name} from {flow.story_keys[0]} through "
                                 f"{_and(flow.story_keys[1:])}"),
            objective=sentence(f"Walk one customer through {' -> '.join(flow.story_keys)}, each leg starting "
                               f"from what an earlier one produced. " + " ".join(statements)),
            persona=persona,
            preconditions=template.preconditions(persona, api=persona == "API consumer")
            + ["One customer account is used for the whole journey"],
            steps=steps,
            priority=template.priority("end_to_end", flow.name),
            kind="end_to_end",
            story_key=flow.story_keys[0],
            criterion_ids=list(dict.fromkeys(criterion_ids)),
            sources=sources,
            labels=template.labels_for("end_to_end", flow.story_keys[0], epic_key),
            confidence="medium",
            notes="Links: " + " ".join(statements),
        ))
    return out
