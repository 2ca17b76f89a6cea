"""The CaseSet itself as JSON: the lossless format other tools and later runs read back."""

from __future__ import annotations

from pydantic import ValidationError

from agent.models import CaseSet
from connectors.errors import CasewrightError


def render_json(case_set: CaseSet) -> str:
    # pydantic's own serialiser: the same text as json.dumps(model_dump(mode="json"), indent=2,
    # ensure_ascii=False), about seven times faster on a large epic
    return case_set.model_dump_json(indent=2) + "\n"


def load_json(text: str) -> CaseSet:
    """Read a CaseSet written by render_json."""
    try:
        return CaseSet.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "document"
        raise CasewrightError(
            f"not a casewright case-set JSON file: {where}: {first.get('msg')}; "
            "use a file written with --format json"
        ) from None
