"""Renderers: a CaseSet out as the files QA teams import (Markdown, CSV, Gherkin, Xray, JSON).

``render(case_set, fmt)`` gives one format as text; ``write_outputs(case_set, formats, out_dir)``
writes the files, atomically, and returns their paths::

    <EPIC>.md                     report for the QA lead
    <EPIC>.csv                    TestRail / Zephyr Scale import, one row per step
    <EPIC>/<STORY>.feature        Gherkin, one Feature per story
    <EPIC>/<EPIC>-end-to-end.feature
    <EPIC>.xray.json              Xray Cloud bulk test import (<EPIC>.xray.2.json ... past 1,000 tests)
    <EPIC>.json                   the CaseSet itself
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from agent.configuration import FORMATS, check_formats
from agent.models import CaseSet
from agent.renderers.common import safe_filename
from agent.renderers.csv_export import render_csv
from agent.renderers.gherkin import render_features, render_gherkin
from agent.renderers.jira_wiki import wiki_length
from agent.renderers.json_export import render_json
from agent.renderers.limits import limit_findings
from agent.renderers.markdown import render_markdown
from agent.renderers.xray import render_xray, render_xray_documents
from connectors.errors import CasewrightError

_RENDERERS = {
    "md": render_markdown,
    "csv": render_csv,
    "feature": render_gherkin,
    "xray": render_xray,
    "json": render_json,
}

assert tuple(_RENDERERS) == FORMATS, "a renderer for every output format of agent.configuration"


def _unknown(fmt: str) -> CasewrightError:
    return CasewrightError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def render(case_set: CaseSet, fmt: str) -> str:
    """One format as text. For 'feature' this is every feature file one after another
    (each parses on its own; ``render_files`` / ``write_outputs`` keep them apart)."""
    renderer = _RENDERERS.get((fmt or "").strip().lower())
    if renderer is None:
        raise _unknown(fmt)
    return renderer(case_set)


def render_files(case_set: CaseSet, fmt: str) -> dict[str, str]:
    """Relative file path -> content for one format."""
    fmt = check_formats([fmt])[0]
    epic = safe_filename(case_set.epic.key)
    if fmt == "feature":
        return render_features(case_set)
    if fmt == "xray":
        docs = render_xray_documents(case_set)
        return {(f"{epic}.xray.json" if i == 0 else f"{epic}.xray.{i + 1}.json"): doc for i, doc in enumerate(docs)}
    suffix = {"md": "md", "csv": "csv", "json": "json"}[fmt]
    return {f"{epic}.{suffix}": render(case_set, fmt)}


def with_limit_findings(case_set: CaseSet) -> CaseSet:
    """The case set with a finding for every field the imports would refuse as too long."""
    found = limit_findings(case_set, {c.id: wiki_length(c) for c in case_set.cases})
    known = {(f.code, f.case_id, f.message) for f in case_set.findings}
    new = [f for f in found if (f.code, f.case_id, f.message) not in known]
    return case_set.model_copy(update={"findings": [*case_set.findings, *new]}) if new else case_set


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; reports are for the whole team
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_outputs(case_set: CaseSet, formats: str | Iterable[str], out_dir: str | os.PathLike[str], *,
                  limits_checked: bool = False) -> list[Path]:
    """Render every requested format and write it under out_dir; returns the paths written.

    All formats are validated and rendered before the first file is written, so bad input
    leaves no half-written set of outputs behind. `limits_checked`: the caller has already added
    the field-limit findings (`with_limit_findings`), so they are not computed twice.
    """
    chosen = check_formats(formats)
    if not limits_checked:
        case_set = with_limit_findings(case_set)
    rendered = {rel: text for fmt in chosen for rel, text in render_files(case_set, fmt).items()}
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise CasewrightError(f"output path {root} is a file; give --out a directory")
    paths: list[Path] = []
    try:
        for rel, text in rendered.items():
            path = root / rel
            _write_atomic(path, text)
            paths.append(path)
    except OSError as exc:
        raise CasewrightError(f"cannot write outputs under {root}: {exc.strerror or exc}; check the --out directory") from None
    return paths
