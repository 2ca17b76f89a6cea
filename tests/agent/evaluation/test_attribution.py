"""Boundary-to-criterion attribution against hand-labelled limits: a probe under the governing
criterion counts, one listed under another criterion as well does not, and a bad labels file is
one clear error."""

from __future__ import annotations

import json

import pytest

from agent.evaluation.attribution import LabelsError, attribute, labels_beside, load_limit_labels
from agent.evaluation.datasets import load_dataset
from agent.models import Step, UATCase
from connectors.workspace import SAMPLE_PATH


def _probe(value: str, criteria: list[str], kind: str = "boundary") -> UATCase:
    return UATCase(id=f"X-{value}", title=f"Verify that the request is checked with {value}", objective="o",
                   persona="p", steps=[Step(action="Try it", expected="It is checked.")], priority="Medium", kind=kind, story_key="LIB-1", criterion_ids=criteria,
                   test_data={"Value under test": value})


def _labels(tmp_path, entries):
    path = tmp_path / "limit_labels.json"
    path.write_text(json.dumps({"limits": entries}), encoding="utf-8")
    return path


def test_a_limit_probed_under_its_governing_criterion_only_is_attributed(tmp_path):
    labels = load_limit_labels(_labels(tmp_path, [
        {"story": "LIB-1", "limit": "at most 8 loans at a time", "governs": ["LIB-1/AC-2"]},
        {"story": "LIB-1", "limit": "over £15.00", "governs": ["LIB-1/AC-3"]},
        {"story": "LIB-1", "limit": "up to 3 weeks", "governs": ["LIB-1/AC-1"]},
    ]))["LIB-1"]
    cases = [_probe("8 loans at a time", ["LIB-1/AC-2"]), _probe("9 loans at a time", ["LIB-1/AC-2"]),
             _probe("£15.01", ["LIB-1/AC-1", "LIB-1/AC-3"]),          # listed under AC-1 as well
             _probe("21 days", ["LIB-1/AC-1"], kind="positive")]       # 3 weeks, but not a boundary case
    got = attribute(cases, labels)
    assert (got.labelled, got.probed, got.attributed) == (3, 2, 1)
    assert got.misattributed == ["over £15.00 -> LIB-1/AC-1, LIB-1/AC-3"]
    # the same quantity in another spelling is the same probe
    assert attribute([_probe("21 days", ["LIB-1/AC-1"])], labels[2:]).attributed == 1


@pytest.mark.parametrize("entry,says", [
    ({"story": "LIB-1", "limit": "the usual period", "governs": ["LIB-1/AC-1"]}, "states no limit"),
    ({"story": "LIB-1", "limit": "up to 3 weeks", "governs": []}, "non-empty \"governs\""),
    ({"story": "LIB-1", "limit": "up to 3 weeks", "governs": ["LIB-2/AC-1"]}, "not criteria of LIB-1"),
])
def test_a_bad_labels_file_is_one_line_naming_the_entry(tmp_path, entry, says):
    with pytest.raises(LabelsError) as err:
        load_limit_labels(_labels(tmp_path, [entry]))
    assert says in str(err.value) and "entry 1" in str(err.value) and "\n" not in str(err.value)


def test_the_sample_labels_load_with_the_sample_dataset_and_name_its_criteria():
    assert labels_beside(SAMPLE_PATH) is not None
    ds = load_dataset(SAMPLE_PATH)
    labelled = {i.story.key: i for i in ds.items if i.limits}
    assert {"ER-2", "ER-3", "ER-16"} <= set(labelled)
    for item in labelled.values():
        ids = {c.id for c in item.story.criteria}
        assert all(set(lim.governs) <= ids for lim in item.limits), item.story.key
    approval = next(lim for lim in labelled["ER-2"].limits if "2,500" in lim.phrase)
    assert approval.governs == ("ER-2/AC-5",)
