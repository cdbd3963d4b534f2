"""One JSON encoding for everything Paygate writes: compact, as JavaScript's JSON.stringify."""

from __future__ import annotations

import json


def dumps(value: object) -> str:
    """Compact JSON (no spaces), UTF-8 characters kept as they are."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
