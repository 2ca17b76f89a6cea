"""Jira's timestamps (2024-05-01T10:00:00.000+0000, also with +HH:MM or Z) as aware datetimes."""

from __future__ import annotations

import re
from datetime import datetime, timezone


def parse_jira_timestamp(value: str | None) -> datetime | None:
    """The moment a Jira timestamp names (UTC when it has no offset); None when it is not one."""
    if not value or not isinstance(value, str):
        return None
    v = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value.strip())
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
