"""The plain-text shape every converter ends with: the code-fence marker and the final tidy pass."""

from __future__ import annotations

FENCE = "```"


def _tidy(lines: list[str]) -> str:
    """Strip trailing spaces and collapse runs of blank lines (outside code fences)."""
    out: list[str] = []
    in_code = False
    for line in lines:
        if line.strip().startswith(FENCE):
            in_code = not in_code
            out.append(line.rstrip())
            continue
        if in_code:
            out.append(line.rstrip())
            continue
        line = line.rstrip()
        if not line.strip():
            if out and out[-1] == "":
                continue
            out.append("")
        else:
            out.append(line)
    while out and out[0] == "":
        out.pop(0)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)
