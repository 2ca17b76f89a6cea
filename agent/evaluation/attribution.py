"""Boundary-to-criterion attribution: is each hand-labelled limit of a story probed, and under the
criterion that governs it?

A labels file (`limit_labels.json` beside a workspace dataset, or inside an LAJ folder) lists, per
story, the limits a tester would probe and the criterion or criteria that govern each (the
labelling rule is in the file). For every labelled limit of an evaluated story:
- probed: a boundary case names one of its probe values (just inside or just outside, e.g.
  "$2,500.01" or "$2,500.00" for "above $2,500.00"; equal quantities in other spellings count);
- attributed: probed, and every boundary case that names a probe value traces to governing
  criteria only (a case listed under AC-1 as well as AC-5 is not attributed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from agent.evaluation.style import quantities
from agent.generation.boundaries import Limit, find_limits
from agent.models import UATCase
from connectors.errors import CasewrightError

LABELS_FILE = "limit_labels.json"


class LabelsError(CasewrightError):
    """A limit labels file that cannot be used; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class LabelledLimit:
    story: str
    phrase: str                # the limit as the rule states it, e.g. "above $2,500.00"
    governs: tuple[str, ...]   # the criterion ids whose cases may probe it
    rule: str = ""             # where it is stated, for the reader

    @property
    def limit(self) -> Limit:
        return find_limits(self.phrase)[0]


def labels_beside(dataset: str | Path) -> Path | None:
    """The labels file of a dataset: limit_labels.json in its folder (an LAJ folder, or the folder
    of a workspace file), when there is one."""
    p = Path(dataset)
    candidate = (p if p.is_dir() else p.parent) / LABELS_FILE
    return candidate if candidate.is_file() else None


def load_limit_labels(path: str | Path) -> dict[str, list[LabelledLimit]]:
    """Story key -> its labelled limits. Each entry needs story, limit (a phrase the limit finder
    reads) and governs (criterion ids of that story)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LabelsError(f"limit labels {p} cannot be read ({exc}); fix the JSON or remove the file") from None
    entries = doc.get("limits") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise LabelsError(f"limit labels {p} has no \"limits\" list; see docs/fine-tuning-and-evaluation.md")
    out: dict[str, list[LabelledLimit]] = {}
    for n, e in enumerate(entries, start=1):
        story, phrase, governs = (e.get(k) if isinstance(e, dict) else None for k in ("story", "limit", "governs"))
        if not isinstance(story, str) or not isinstance(phrase, str) or not isinstance(governs, list) or not governs:
            raise LabelsError(f"limit labels {p}, entry {n}: needs \"story\", \"limit\" and a non-empty \"governs\" list")
        if not find_limits(phrase):
            raise LabelsError(f"limit labels {p}, entry {n}: {phrase!r} states no limit the limit finder reads; "
                              "write it as e.g. 'at most 2 payment extensions' or 'above $2,500.00'")
        wrong = [g for g in governs if not str(g).startswith(f"{story}/")]
        if wrong:
            raise LabelsError(f"limit labels {p}, entry {n}: {wrong} are not criteria of {story} (write {story}/AC-N)")
        out.setdefault(story, []).append(LabelledLimit(story, phrase, tuple(governs), str(e.get("rule", ""))))
    return out


@dataclass
class Attribution:
    labelled: int = 0
    probed: int = 0
    attributed: int = 0
    misattributed: list[str] | None = None  # "phrase -> criterion ids" of the probed limits not attributed


def _case_text(case: UATCase) -> str:
    return " ".join([case.title, *case.test_data.values()])


def probing_cases(cases: Sequence[UATCase], labelled: LabelledLimit) -> list[UATCase]:
    """The boundary cases that name one of the labelled limit's probe values."""
    lim = labelled.limit
    targets = {q for value, _ in lim.probes() for q in quantities(lim.render(value))[:1]}
    return [c for c in cases if c.kind == "boundary" and targets & set(quantities(_case_text(c)))]


def attribute(cases: Sequence[UATCase], labels: Sequence[LabelledLimit]) -> Attribution:
    out = Attribution(labelled=len(labels), misattributed=[])
    for labelled in labels:
        probing = probing_cases(cases, labelled)
        if not probing:
            continue
        out.probed += 1
        traced = sorted({cid for c in probing for cid in c.criterion_ids})
        if traced and set(traced) <= set(labelled.governs):
            out.attributed += 1
        else:
            out.misattributed.append(f"{labelled.phrase} -> {', '.join(traced) or 'no criterion'}")  # type: ignore[union-attr]
    return out


def attribution_summary(stories: Sequence[Any]) -> dict[str, Any]:
    """The totals over story scores that carry limits_labelled / limits_probed / limits_attributed."""
    labelled = sum(getattr(s, "limits_labelled", 0) for s in stories)
    probed = sum(getattr(s, "limits_probed", 0) for s in stories)
    attributed = sum(getattr(s, "limits_attributed", 0) for s in stories)
    return {"limits_labelled": labelled, "limits_probed": probed, "limits_attributed": attributed,
            "boundary_attribution": round(attributed / labelled, 4) if labelled else None}
