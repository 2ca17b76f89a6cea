"""Reading Confluence pages with atlassian-python-api against the emulator: CQL, ids, children,
and storage XHTML turned into text that keeps headings, lists and tables."""

from __future__ import annotations

import pytest

from connectors.confluence_source import ConfluenceSource, build_cql
from connectors.errors import CasewrightError
from connectors.markup import storage_to_text
from support.sandbox import FAST_RETRY, sample_doc, start_sandbox


def conf_for(sb, **over) -> ConfluenceSource:
    kwargs = {**sb.creds.kwargs(), **over}
    return ConfluenceSource(sb.url, retry=FAST_RETRY, page_size=3, **kwargs)


def test_pages_by_space_label_and_ancestor_follow_paging(sandbox):
    conf = conf_for(sandbox)
    everything = conf.pages(space="ER")
    assert len(everything) == len(sample_doc()["pages"]) > 3  # page size 3: several pages of results
    rules = conf.pages(space="ER", labels=["business-rule"])
    assert rules and all("business-rule" in [lb["name"] for lb in p["metadata"]["labels"]["results"]] for p in rules)
    children = conf.pages(ancestor="200000")
    assert {p["id"] for p in children} == {p["id"] for p in conf.children("200000")}
    assert all(p["body"]["storage"]["value"] for p in children)
    assert conf.pages(space="NOPE") == []
    assert build_cql(space="ER", labels=["a b"], ancestor="1") == 'type = page AND space = "ER" AND label in ("a b") AND ancestor = "1"'


def test_storage_becomes_structured_text(sandbox):
    page = conf_for(sandbox).page("200001")
    assert page["title"] == "Payment Extension Rules" and page["space"]["key"] == "ER"
    text = storage_to_text(page["body"]["storage"]["value"])
    assert "<" not in text.replace("<=", "").replace("< ", "")
    raw = page["body"]["storage"]["value"]
    if "<h" in raw:
        assert any(line.startswith("#") for line in text.splitlines())
    if "<li" in raw:
        assert any(line.lstrip().startswith(("- ", "1. ")) for line in text.splitlines())
    if "<table" in raw:
        assert any(" | " in line for line in text.splitlines())


def test_storage_conversion_of_a_page_written_for_the_test(tmp_path):
    doc = sample_doc()
    doc["pages"].append({"id": "299999", "title": "Refund Thresholds", "space": {"key": "ER"},
                         "ancestors": [{"id": "200000"}],
                         "metadata": {"labels": {"results": [{"prefix": "global", "name": "refunds"}]}},
                         "body": {"storage": {"value": (
                             "<h2>Limits</h2><ul><li>Refunds up to <strong>$500</strong> need no approval</li>"
                             "<li>Above $500 a Team Leader approves</li></ul>"
                             "<table><tbody><tr><th>Amount</th><th>Approver</th></tr>"
                             "<tr><td>0-500</td><td>Agent</td></tr></tbody></table>")}}})
    server, creds = start_sandbox("cloud", seed=doc)
    try:
        conf = ConfluenceSource(server.url, retry=FAST_RETRY, **creds.kwargs())
        [page] = conf.pages(labels=["refunds"])
        text = storage_to_text(page["body"]["storage"]["value"])
        assert "## Limits" in text
        assert "- Refunds up to $500 need no approval" in text or "- Refunds up to **$500** need no approval" in text
        assert "Amount | Approver" in text and "0-500 | Agent" in text
        assert "299999" in {p["id"] for p in conf.children("200000")}
        assert [p["id"] for p in conf.pages_by_id(["299999", "404404", "299999"])] == ["299999"]
    finally:
        server.stop()


def test_wrong_confluence_token_names_the_setting(sandbox):
    bad = {"pat": "nope"} if sandbox.creds.pat else {"api_token": "nope"}
    with pytest.raises(CasewrightError) as err:
        conf_for(sandbox, **bad).pages(space="ER")
    assert "Confluence rejected the credentials (401)" in str(err.value)
    assert "CONFLUENCE_EMAIL + CONFLUENCE_API_TOKEN or CONFLUENCE_PAT" in str(err.value)


def test_confluence_recovers_from_503(sandbox):
    sandbox.faults.unavailable_next = 2
    assert conf_for(sandbox).page("200001")["id"] == "200001"
    assert [r.status for r in sandbox.requests] == [503, 503, 200]
