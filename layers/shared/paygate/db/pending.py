"""The reconciler's view of records still `pending`: a sparse index, sharded.

A payment or refund carries `pending_shard` and `pending_due` from its creation until the write
that settles it removes them, so the index holds only unfinished work and a query costs what
it finds, never a scan of the table.
"""

from __future__ import annotations

import random

from paygate.db.errors import storage_errors
from paygate.db.models import PENDING_SHARDS


def new_shard() -> str:
    """A random shard of the pending index for a new record."""
    return str(random.randrange(PENDING_SHARDS))


def due(model, before: str, limit: int) -> list:
    """Rows of `model` still pending whose `pending_due` is before `before` (ISO), oldest
    first, at most `limit`."""
    found: list = []
    with storage_errors():
        for shard in range(PENDING_SHARDS):
            found += list(
                model.to_reconcile.query(
                    str(shard), model.pending_due < before, limit=limit, page_size=limit
                )
            )
    return sorted(found, key=lambda row: row.pending_due)[:limit]


def postpone(row, at: str) -> None:
    """Move a still-pending row's `pending_due` to `at`; ConditionFailed once it settled."""
    model = type(row)
    with storage_errors():
        row.update(actions=[model.pending_due.set(at)], condition=model.status == "pending")
