"""A merchant's events as the events API reads them: one by id, and pages newest first."""

from __future__ import annotations

from paygate.db.errors import storage_errors
from paygate.db.models import EventModel


class EventRepository:
    def get(self, event_id: str) -> EventModel | None:
        with storage_errors():
            try:
                return EventModel.get(event_id, consistent_read=True)
            except EventModel.DoesNotExist:
                return None

    def page(
        self,
        merchant_id: str,
        limit: int,
        event_type: str | None = None,
        lowest: str | None = None,
        below: str | None = None,
    ) -> tuple[list[EventModel], bool]:
        """Up to `limit` events with `lowest <= list_key < below`, newest first, and whether
        more follow. One key condition on the index's sort key, no filter: a page reads about
        `limit` items whatever the merchant's history holds."""
        if event_type is None:
            index, hash_key = EventModel.by_merchant, merchant_id
        else:
            index, hash_key = EventModel.by_merchant_and_type, f"{merchant_id}#{event_type}"
        key = EventModel.list_key
        if lowest is not None and below is not None:
            if lowest >= below:
                return [], False
            condition = key.between(lowest, below)  # inclusive: `below` itself is dropped below
        elif below is not None:
            condition = key < below
        elif lowest is not None:
            condition = key >= lowest
        else:
            condition = None
        wanted = limit + 1 + (below is not None)
        with storage_errors():
            found = [
                event
                for event in index.query(
                    hash_key,
                    condition,
                    scan_index_forward=False,
                    limit=wanted,
                    page_size=wanted,
                )
                if event.list_key != below
            ]
        return found[:limit], len(found) > limit
