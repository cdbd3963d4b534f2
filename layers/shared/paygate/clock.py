"""Time in one place, so tests can reason about it: ISO-8601 UTC strings and unix seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def iso(moment: datetime | None = None) -> str:
    """ISO-8601 UTC with a `Z` and millisecond precision (sortable as a string)."""
    moment = moment or now()
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def unix() -> int:
    """Unix seconds now."""
    return int(time.time())
