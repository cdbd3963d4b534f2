"""Webhook events as outbox rows, and their hand-off to the webhook queue.

An event is written in the same transaction as the change it describes. Only merchants with a
webhook URL get events marked for dispatch; right after the commit they are sent to the webhook
queue, and the outbox relay (`WebhookDelivery.sweep`) re-sends any that a crash left behind.
"""

from __future__ import annotations

import random

from aws_lambda_powertools import Logger

from paygate import clock, ids
from paygate.db.models import DISPATCH_SHARDS, EventModel
from paygate.jsonutil import dumps
from paygate.queues import Queue

logger = Logger(child=True)


def new_event(merchant_id: str, name: str, data: dict, dispatch: bool = True) -> EventModel:
    """An event row whose `body` is the compact JSON every delivery attempt will send."""
    event_id = ids.new_id("evt")
    body = dumps({"id": event_id, "event": name, "timestamp": clock.unix(), "data": data})
    shard = str(random.randrange(DISPATCH_SHARDS)) if dispatch else None
    return EventModel(
        id=event_id,
        merchant_id=merchant_id,
        event=name,
        body=body,
        created_at=clock.iso(),
        dispatch_shard=shard,
    )


class EventPublisher:
    """Hands committed events to the webhook queue (best effort: the relay covers failures)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    def publish(self, events: list[EventModel]) -> None:
        wanted = [{"event_id": e.id} for e in events if e.dispatch_shard is not None]
        if not wanted:
            return
        try:
            self.queue.send_batch(wanted)
        except Exception:
            logger.exception(
                "event hand-off failed; the outbox relay will resend",
                extra={"event_ids": [m["event_id"] for m in wanted]},
            )
