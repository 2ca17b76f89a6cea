"""Reading Confluence pages with atlassian-python-api: by CQL (space, label, ancestor), by id, and
a page's children. Returns raw REST v1 content objects with `body.storage`, `space`, `version`,
`ancestors` and `metadata.labels` expanded: the shape the workspace file stores, so agent/intake
parses live pages and exported ones the same way (connectors.markup.storage_to_text turns the
storage XHTML into text)."""

from __future__ import annotations

from typing import Any, Iterable

from connectors.atlassian_http import CONFLUENCE, RetryPolicy, call, confluence_client

PAGE_EXPAND = "body.storage,space,version,ancestors,metadata.labels"


def _quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_cql(*, space: str | None = None, labels: Iterable[str] = (), ancestor: str | None = None,
              title: str | None = None, content_type: str = "page") -> str:
    """CQL for pages: every given condition must hold (labels: any of them)."""
    parts = [f"type = {content_type}"]
    if space:
        parts.append(f"space = {_quote(space)}")
    labels = [lb for lb in labels if lb]
    if labels:
        parts.append("label in (" + ", ".join(_quote(lb) for lb in labels) + ")")
    if ancestor:
        parts.append(f"ancestor = {_quote(str(ancestor))}")
    if title:
        parts.append(f"title ~ {_quote(title)}")
    return " AND ".join(parts)


class ConfluenceSource:
    def __init__(self, url: str, *, email: str | None = None, api_token: str | None = None,
                 pat: str | None = None, cloud: bool | None = None, page_size: int = 50,
                 retry: RetryPolicy | None = None, client: Any = None) -> None:
        self.url = url.rstrip("/")
        self.client = client or confluence_client(url, email=email, api_token=api_token, pat=pat, cloud=cloud)
        self.page_size = page_size
        self.retry = retry or RetryPolicy()

    def _call(self, fn, what: str):  # noqa: ANN001, ANN202
        return call(fn, what=what, service=CONFLUENCE, policy=self.retry, url=self.url)

    def pages_by_cql(self, cql: str) -> list[dict[str, Any]]:
        """Every page matching `cql`, following the paging to the end."""
        pages: list[dict[str, Any]] = []
        start = 0
        while True:
            resp = self._call(lambda: self.client.cql(cql, start=start, limit=self.page_size,
                                                      expand=",".join("content." + p for p in PAGE_EXPAND.split(","))),
                              f"search pages with CQL '{cql}'")
            results = (resp or {}).get("results") or []
            for r in results:
                content = r.get("content") or r
                if content.get("type", "page") == "page":
                    pages.append(content)
            total = (resp or {}).get("totalSize")
            start += len(results)
            has_next = bool(((resp or {}).get("_links") or {}).get("next"))
            if not results or not (has_next or (total is not None and start < int(total))):
                break
        return pages

    def pages(self, *, space: str | None = None, labels: Iterable[str] = (), ancestor: str | None = None) -> list[dict[str, Any]]:
        return self.pages_by_cql(build_cql(space=space, labels=labels, ancestor=ancestor))

    def page(self, page_id: str) -> dict[str, Any]:
        return self._call(lambda: self.client.get_page_by_id(str(page_id), expand=PAGE_EXPAND),
                          f"read page {page_id}")

    def pages_by_id(self, page_ids: Iterable[str], *, missing_ok: bool = True) -> list[dict[str, Any]]:
        """Pages in the order given, each once; pages that no longer exist are skipped when missing_ok."""
        from connectors.atlassian_http import AtlassianError

        out, seen = [], set()
        for pid in page_ids:
            pid = str(pid)
            if pid in seen:
                continue
            seen.add(pid)
            try:
                out.append(self.page(pid))
            except AtlassianError as exc:
                if not (missing_ok and exc.status == 404):
                    raise
            except Exception as exc:  # noqa: BLE001 - atlassian raises ApiError for a missing page
                if not missing_ok or "no content" not in str(exc).lower():
                    raise
        return out

    def children(self, page_id: str) -> list[dict[str, Any]]:
        """Direct child pages, every page of results (the client follows `_links.next`)."""
        return self._call(lambda: list(self.client.get_page_child_by_type(str(page_id), type="page",
                                                                          expand=PAGE_EXPAND)),
                          f"list the child pages of {page_id}")
