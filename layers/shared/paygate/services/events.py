"""Webhook events as outbox rows: the exact body is fixed when the event is written."""

from __future__ import annotations

from paygate import clock, ids
from paygate.db.models import EventModel
from paygate.jsonutil import dumps


def new_event(merchant_id: str, name: str, data: dict) -> EventModel:
    """An event row whose `body` is the compact JSON every delivery attempt will send."""
    event_id = ids.new_id("evt")
    body = dumps({"id": event_id, "event": name, "timestamp": clock.unix(), "data": data})
    return EventModel(
        id=event_id, merchant_id=merchant_id, event=name, body=body, created_at=clock.iso()
    )
