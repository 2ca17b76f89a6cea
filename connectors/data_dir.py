"""The data directory (CASEWRIGHT_DATA_DIR): checked and created where it is first needed, so a
path that is a file, cannot be created or cannot be written is one clear line, not a traceback
from whichever write came first."""

from __future__ import annotations

import tempfile
from pathlib import Path

from connectors.errors import CasewrightError

SETTING = "CASEWRIGHT_DATA_DIR"
_ADVICE = f"set {SETTING} to a directory casewright may create and write (default .casewright)"


class DataDirError(CasewrightError):
    """The data directory cannot hold casewright's runs, checkpoints and knowledge store."""


def ensure_data_dir(path: str | Path) -> Path:
    """`path` as a directory that exists and can be written; created (with its parents) if missing."""
    p = Path(path)
    for part in (p, *p.parents):
        if part.exists() and not part.is_dir():
            what = "is a file" if part == p else f"is under {part}, which is a file"
            raise DataDirError(f"the data directory {p} {what}, not a directory; {_ADVICE}")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"the data directory {p} cannot be created ({exc.strerror}); {_ADVICE}") from None
    try:
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as exc:
        raise DataDirError(f"the data directory {p} is not writable ({exc.strerror}); {_ADVICE}") from None
    return p
