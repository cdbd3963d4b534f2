"""Fixed-window hit counters for rate limits, in the counters table with a TTL.

Lambda runs many copies of a function, so a limit kept in process memory would multiply by the
number of copies; one DynamoDB counter per (subject, window) is shared by all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from paygate.db.errors import ConditionFailed, storage_errors
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

    def add_hit(self, key: str, expires_at: int, limit: int) -> bool:
        """Count one hit in the window `key` if it holds fewer than `limit` (one conditional
        ADD, so concurrent callers can never take more than `limit` hits between them); False,
        counting nothing, when the window is full."""
        item = CounterModel(pk=key)
        try:
            with storage_errors():
                item.update(
                    actions=[
                        CounterModel.hits.add(1),
                        CounterModel.expires_at.set(datetime.fromtimestamp(expires_at, UTC)),
                    ],
                    condition=CounterModel.hits.does_not_exist() | (CounterModel.hits < limit),
                )
        except ConditionFailed:
            return False
        return True

    def remove_hit(self, key: str) -> None:
        """Give back one hit of the window `key` (never below zero)."""
        try:
            with storage_errors():
                CounterModel(pk=key).update(
                    actions=[CounterModel.hits.add(-1)], condition=CounterModel.hits > 0
                )
        except ConditionFailed:
            pass  # the window ended and its counter expired, or nothing was counted
