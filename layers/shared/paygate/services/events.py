"""Events: outbox rows, their hand-off to the webhook queue, and the events API.

An event is written in the same transaction as the change it describes, for every merchant, and
kept 30 days. Only events some endpoint of the merchant takes (`wants_event`) are marked for
dispatch; right after the commit they are sent to the webhook queue, and the outbox relay
(`WebhookDelivery.sweep`) re-sends any that a crash left behind. `EventService` lists and
reads them for the merchant.
"""

from __future__ import annotations

import json
import random

from aws_lambda_powertools import Logger

from paygate import clock, ids
from paygate.db.events import EventRepository
from paygate.db.models import DISPATCH_SHARDS, EventModel, MerchantModel
from paygate.domain import events as rules
from paygate.domain.webhook_endpoints import ALL_EVENTS, subscribes
from paygate.errors import BadRequest, NotFound
from paygate.jsonutil import dumps
from paygate.queues import Queue
from paygate.services.views import event_view

logger = Logger(child=True)
# A page of the events API stops before its events pass this size, measured as they travel in
# Lambda's response (the body again JSON-escaped, non-ASCII as \\uXXXX): Lambda refuses a
# response over 6 MB. The client goes on with `starting_after`, as after any page.
MAX_PAGE_BYTES = 4 * 1024 * 1024


def _within_page_size(views: list[dict]) -> list[dict]:
    """The longest prefix of `views` under MAX_PAGE_BYTES (at least one event)."""
    total = 0
    for count, view in enumerate(views):
        total += len(json.dumps(dumps(view))) + 1
        if total > MAX_PAGE_BYTES and count > 0:
            return views[:count]
    return views


def new_event(merchant_id: str, name: str, data: dict, dispatch: bool = True) -> EventModel:
    """An event row whose `body` is the compact JSON every delivery attempt will send.

    Every event is stored (and listed by the events API for 30 days); `dispatch` only says
    whether it also goes to the webhook pipeline (the merchant has somewhere to send it)."""
    event_id = ids.new_id("evt")
    moment = clock.now()
    created_at = clock.iso(moment)
    body = dumps(
        {"id": event_id, "event": name, "timestamp": int(moment.timestamp()), "data": data}
    )
    shard = str(random.randrange(DISPATCH_SHARDS)) if dispatch else None
    return EventModel(
        id=event_id,
        merchant_id=merchant_id,
        event=name,
        body=body,
        created_at=created_at,
        dispatch_shard=shard,
        list_key=rules.list_key(created_at, event_id),
        merchant_type=f"{merchant_id}#{name}",
        expires_at=rules.expires_at(moment),
    )


def wants_event(merchant: MerchantModel | None, name: str) -> bool:
    """Whether any endpoint of the merchant takes `name`, from the merchant record alone (the
    default endpoint's fields and the summary of the others kept on it), so that raising an
    event costs no read beyond the cached merchant. Only then is the event dispatched."""
    if merchant is None:
        return False
    if merchant.webhook_url and subscribes(merchant.webhook_enabled_events or (ALL_EVENTS,), name):
        return True
    return subscribes(merchant.webhook_subscriptions, name)


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


class EventService:
    """The events API: every event of the merchant for 30 days, delivered or not."""

    def __init__(self, repo: EventRepository) -> None:
        self.repo = repo

    def _own(self, merchant: MerchantModel, event_id: str) -> EventModel | None:
        """The merchant's event; None for a malformed id (not worth a read), an unknown one or
        another merchant's, alike."""
        event = self.repo.get(event_id) if ids.is_id(event_id, "evt") else None
        return event if event is not None and event.merchant_id == merchant.id else None

    def get(self, merchant: MerchantModel, event_id: str) -> dict:
        """One event; another merchant's id is not found, exactly as an unknown one."""
        event = self._own(merchant, event_id)
        if event is None:
            raise NotFound("Event not found")
        return event_view(event)

    def list(self, merchant: MerchantModel, query: dict | None) -> dict:
        """`{data, has_more, limit}`: newest first; `starting_after` continues after that event.
        A page holds at most `limit` events and fewer when they would pass MAX_PAGE_BYTES
        (`has_more` then true)."""
        wanted = rules.parse_event_query(query)
        below = wanted.created_lt
        if wanted.starting_after is not None:
            cursor = self._own(merchant, wanted.starting_after)
            if cursor is None or cursor.list_key is None:  # unlisted: written before the index
                raise BadRequest(rules.CURSOR_ERROR)
            below = min(filter(None, (below, cursor.list_key)))
        events, has_more = self.repo.page(
            merchant.id, wanted.limit, wanted.type, wanted.created_gte, below
        )
        views = [event_view(e) for e in events]
        page = _within_page_size(views)
        return {"data": page, "has_more": has_more or len(page) < len(views), "limit": wanted.limit}
