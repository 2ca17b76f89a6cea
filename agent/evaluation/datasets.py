"""Evaluation datasets: the held-out stories, each with the reference cases its generated cases
are measured against.

- a workspace file whose stories have approved cases (e.g. the stories of an export's
  validation split, `--holdout EXPORT_DIR`): the approved cases are the reference, and they are
  removed from the story (and from what retrieval may return for it) before generation;
- the LAJ layout: a folder with `tickets.csv` (id, method, valid, title, description) and
  `features/N.feature` reference scripts.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.evaluation.attribution import LabelledLimit, labels_beside, load_limit_labels
from agent.evaluation.gherkin import gherkin_scenario_text, read_reference_feature, scenario_to_case
from agent.finetune.workspace import stories_from_workspace
from agent.intake.criteria import extract
from agent.models import Story, UATCase
from connectors.errors import CasewrightError
from connectors.workspace import load_workspace


class EvaluationError(CasewrightError):
    """The evaluation cannot run as asked; the message says why and what to do."""


@dataclass
class EvalItem:
    story: Story                      # as the generator sees it: no approved cases
    references: list[str]             # reference cases as text, for the semantic match
    reference_gherkin: str = ""       # the LAJ reference script, when there is one
    reference_cases: list[UATCase] = field(default_factory=list)
    limits: list[LabelledLimit] = field(default_factory=list)  # hand-labelled limits (attribution.py)


@dataclass
class Dataset:
    name: str
    kind: str                         # "workspace" or "laj"
    items: list[EvalItem]
    workspace: Any = None             # the parsed Workspace, for retrieval
    all_stories: list[Story] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # how references were read (e.g. a line that is not Gherkin)


def scenario_text(case: UATCase) -> str:
    """A case as a scenario is compared: its title and its steps (what is done, what is seen)."""
    steps = "; ".join(f"{s.action} -> {s.expected}" for s in case.steps)
    return f"{case.title}. {steps}"


def parse_ids(spec: str | None) -> list[int] | None:
    """'1-25,27' -> [1..25, 27]; None/'' -> None."""
    if not spec:
        return None
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise EvaluationError(f"--ids {spec!r} is not a list of numbers and ranges like 1-25,27") from None
    return out


def laj_story(row: dict[str, str]) -> Story:
    key = f"LAJ-{row['id']}"
    title = row.get("title", "")
    criteria, parameters, endpoint = extract(key, row.get("description", ""), "", title=title)
    method, path = endpoint if endpoint else (row.get("method") or None, None)
    return Story(key=key, id=str(row["id"]), summary=title, description=row.get("description", ""),
                 project="LAJ", criteria=criteria, parameters=parameters, method=method, endpoint=path)


def load_laj(folder: str | Path, ids: Sequence[int] | None = None) -> Dataset:
    root = Path(folder)
    tickets = root / "tickets.csv"
    if not tickets.exists():
        raise EvaluationError(f"{root} has no tickets.csv; the LAJ layout is tickets.csv + features/N.feature")
    with tickets.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing_cols = {"id", "title", "description"} - set(rows[0] if rows else {})
    if missing_cols:
        raise EvaluationError(f"{tickets} lacks the column(s) {', '.join(sorted(missing_cols))}")
    by_id = {int(r["id"]): r for r in rows}
    wanted = list(ids) if ids else sorted(i for i in by_id if (root / "features" / f"{i}.feature").exists())
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        raise EvaluationError(f"ticket id(s) {', '.join(map(str, unknown))} are not in {tickets}")
    items = []
    all_stories = []
    notes: list[str] = []
    for i in wanted:
        story = laj_story(by_id[i])
        all_stories.append(story)
        feature = root / "features" / f"{i}.feature"
        if not feature.exists():
            raise EvaluationError(f"ticket {i} has no reference script {feature}")
        text = feature.read_text(encoding="utf-8")
        ref = read_reference_feature(text)
        if not ref.scenarios:
            raise EvaluationError(f"{feature} holds no scenario the Gherkin parser can read; fix the file "
                                  f"or leave ticket {i} out with --ids")
        for line, how, original in ref.repaired:
            shown = original if len(original) <= 80 else original[:77] + "..."
            notes.append(f"{story.key}: {feature.name} line {line} is not Gherkin ({shown!r}); "
                         + ("read as a step of its scenario" if how == "step" else "read as a comment"))
        refs = [gherkin_scenario_text(s) for s in ref.scenarios]
        cases = [scenario_to_case(s, story.key, f"{story.key}-REF-{n + 1:02d}") for n, s in enumerate(ref.scenarios)]
        items.append(EvalItem(story=story, references=refs, reference_gherkin=text, reference_cases=cases))
    return Dataset(name=root.name, kind="laj", items=items, all_stories=all_stories, notes=notes)


def load_workspace_dataset(path: str | Path, story_keys: Sequence[str] | None = None, *,
                           ac_field_name: str = "Acceptance Criteria", test_issue_type: str = "Test") -> Dataset:
    ws = load_workspace(path)
    stories = stories_from_workspace(ws, ac_field_name=ac_field_name, test_issue_type=test_issue_type)
    wanted = set(story_keys) if story_keys else None
    if wanted:
        unknown = wanted - {s.key for s in stories}
        if unknown:
            raise EvaluationError(f"stories {', '.join(sorted(unknown))} are not in {path}")
    items = []
    for s in stories:
        if not s.approved_cases or (wanted and s.key not in wanted):
            continue
        items.append(EvalItem(story=s.model_copy(update={"approved_cases": []}),
                              references=[scenario_text(c) for c in s.approved_cases],
                              reference_cases=list(s.approved_cases)))
    if not items:
        raise EvaluationError(f"no story in {path} has approved cases to compare with; link approved Test issues")
    return Dataset(name=Path(path).stem, kind="workspace", items=items, workspace=ws,
                   all_stories=[s.model_copy(update={"approved_cases": []}) for s in stories])


def holdout_stories(export_dir: str | Path) -> list[str]:
    manifest = Path(export_dir) / "manifest.json"
    if not manifest.exists():
        raise EvaluationError(f"{manifest} not found; --holdout takes a folder written by `casewright finetune export`")
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    keys = ((doc.get("splits") or {}).get("validation") or {}).get("stories") or []
    if not keys:
        raise EvaluationError(f"{manifest} has no validation stories; export with a validation fraction > 0")
    return list(keys)


def load_dataset(path: str | Path, *, ids: Sequence[int] | None = None,
                 story_keys: Sequence[str] | None = None) -> Dataset:
    p = Path(path)
    if not p.exists():
        raise EvaluationError(f"dataset not found: {p} (a workspace JSON file or an LAJ folder)")
    ds = load_laj(p, ids) if p.is_dir() else load_workspace_dataset(p, story_keys)
    labels_file = labels_beside(p)
    if labels_file is not None:
        labels = load_limit_labels(labels_file)
        for item in ds.items:
            item.limits = labels.get(item.story.key, [])
    return ds
