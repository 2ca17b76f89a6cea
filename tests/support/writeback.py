"""What the write-back tests read back from the Jira emulator: casewright's case issues, which of
them are current or retired, the epic summary comment, and a check of everything a current issue
claims against the case set it should hold."""

from __future__ import annotations

from collections import Counter

from agent.models import CaseSet
from agent.renderers.jira_wiki import case_to_wiki
from agent.writeback.identity import CASE_PROPERTY, LABEL, criterion_text, fingerprint
from agent.writeback.plan import DEFAULT_RETIRE_LABEL


def case_issues(sandbox) -> dict[str, list[dict]]:
    """Case label -> the issues in Jira carrying it."""
    out: dict[str, list[dict]] = {}
    for issue in sandbox.state.issues.values():
        for label in issue["fields"].get("labels") or []:
            if label.startswith("casewright-case-"):
                out.setdefault(label, []).append(issue)
    return out


def summary_comments(sandbox, epic: str) -> list[dict]:
    issue = sandbox.state.issues[epic]
    return [c for c in sandbox.state.comments.get(issue["id"], []) if f"[casewright:summary {epic}]" in c["body"]]


def prop_of(sandbox, issue: dict) -> dict:
    return (sandbox.state.properties.get(issue["id"]) or {}).get(CASE_PROPERTY) or {}


def casewright_issues(sandbox) -> list[dict]:
    return [i for i in sandbox.state.issues.values() if LABEL in (i["fields"].get("labels") or [])
            and any(lb.startswith("casewright-case-") for lb in i["fields"]["labels"])]


def is_retired(sandbox, issue: dict, label: str = DEFAULT_RETIRE_LABEL) -> bool:
    return bool(prop_of(sandbox, issue).get("retired")) or label in (issue["fields"].get("labels") or [])


def linked_story(sandbox, key: str) -> list[tuple[str, str]]:
    return [(lk["type"]["name"], lk["outward"]) for lk in sandbox.state.links.values() if lk["inward"] == key]


def named_criteria(issue: dict) -> list[str]:
    """The criterion ids a case issue's description names under Traceability."""
    line = next((ln for ln in str(issue["fields"].get("description") or "").splitlines()
                 if ln.startswith("* Criteria:")), "")
    return [c.strip() for c in line.removeprefix("* Criteria:").split(",") if c.strip()]


def check_current_issues(sandbox, cs: CaseSet, *, skip: set[str] = frozenset(), conflicts: set[str] = frozenset()
                         ) -> dict[str, str]:
    """Every generated case (but those in `conflicts`, held by an issue a person edited) is held by
    exactly one current (not retired) casewright issue outside `skip`, which holds exactly what the
    case renders to, is linked to its story once and names only live criteria, with the texts they
    have now. Returns fingerprint -> issue key."""
    texts = {c.id: c.text for s in cs.stories for c in s.criteria}
    wanted = {fingerprint(c, texts): c for c in cs.cases if c.id not in conflicts}
    assert len(wanted) == len([c for c in cs.cases if c.id not in conflicts]), "two generated cases alike"
    current = [i for i in casewright_issues(sandbox) if i["key"] not in skip and not is_retired(sandbox, i)]
    held = Counter(prop_of(sandbox, i).get("fingerprint") for i in current)
    assert held == Counter(list(wanted)), {"extra": sorted(set(held) - set(wanted)), "missing": sorted(set(wanted) - set(held)),
                                     "twice": [k for k, n in held.items() if n > 1]}
    out = {}
    for issue in current:
        prop = prop_of(sandbox, issue)
        case = wanted[prop["fingerprint"]]
        assert issue["fields"]["description"] == case_to_wiki(case), issue["key"]
        assert issue["fields"]["summary"] == " ".join(case.title.split())
        assert prop["story_key"] == case.story_key and prop["kind"] == case.kind
        # every criterion it names exists now and is the one it was written for
        assert all(cid in texts for cid in case.criterion_ids)
        assert prop["criteria"] == sorted(criterion_text(texts[cid]) for cid in case.criterion_ids)
        assert linked_story(sandbox, issue["key"]) == [("Tests", case.story_key)]
        out[prop["fingerprint"]] = issue["key"]
    # per live criterion: as many current issues verify it as generated cases do
    for story in cs.stories:
        for crit in story.criteria:
            n_cases = sum(1 for c in cs.cases if crit.id in c.criterion_ids and c.id not in conflicts)
            n_issues = sum(1 for i in current if crit.id in named_criteria(i))
            assert n_issues == n_cases, (crit.id, n_issues, n_cases)
    return out
