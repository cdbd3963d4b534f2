"""Fixed-window hit counters for rate limits, in the counters table with a TTL.

Lambda runs many copies of a function, so a limit kept in process memory would multiply by the
number of copies; one DynamoDB counter per (subject, window) is shared by all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from paygate.db.errors import storage_errors
from paygate.db.models import CounterModel


def window_key(scope: str, subject: str, window_start: int) -> str:
    return f"rate#{scope}#{subject}#{window_start}"


class RateLimitRepository:
    def hits(self, key: str) -> int:
        """Hits recorded so far in the window `key` (0 when none)."""
        with storage_errors():
            try:
                return int(CounterModel.get(key, attributes_to_get=["hits"]).hits or 0)
            except CounterModel.DoesNotExist:
                return 0

    def add_hit(self, key: str, expires_at: int) -> int:
        """Count one hit in the window `key` (one atomic ADD); returns the new total."""
        item = CounterModel(pk=key)
        with storage_errors():
            item.update(
                actions=[
                    CounterModel.hits.add(1),
                    CounterModel.expires_at.set(datetime.fromtimestamp(expires_at, UTC)),
                ]
            )
        return int(item.hits)
