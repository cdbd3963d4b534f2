"""The events API over real tables (moto): every event stored, pages that never skip or repeat
an event even when many share a millisecond, filters equal to a plain reference filter."""

from __future__ import annotations

import random
import time

import pytest

from paygate import clock
from paygate.db.models import EventModel
from paygate.db.webhooks import WebhookRepository
from paygate.domain.events import EVENT_TYPES, list_key
from paygate.errors import BadRequest, NotFound
from paygate.services.events import new_event
from paygate.wiring import services
from tests.integration.helpers import new_merchant


def store(merchant_id: str, name: str, created_at: str) -> EventModel:
    """An event as `new_event` makes it, at a chosen time (many may share one millisecond)."""
    event = new_event(merchant_id, name, {"n": random.random()}, dispatch=False)
    event.created_at = created_at
    event.list_key = list_key(created_at, event.id)
    WebhookRepository().save_event(event)
    return event


def read_all(merchant, limit: int, **filters) -> list[str]:
    """Every page, following `starting_after`; fails on a page that breaks the contract."""
    seen, query = [], {"limit": str(limit), **filters}
    for _ in range(1000):
        page = services().events.list(merchant, query)
        assert len(page["data"]) <= limit and page["limit"] == limit
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            return seen
        assert len(page["data"]) == limit
        query = {**query, "starting_after": page["data"][-1]["id"]}
    raise AssertionError("pagination did not end")


@pytest.fixture(scope="module")
def crowd():
    """A merchant with 60 events over 4 milliseconds (ties everywhere) and 3 types."""
    merchant = new_merchant()
    times = [f"2026-01-15T10:31:00.00{ms}Z" for ms in range(4)]
    rng = random.Random(7)
    events = [store(merchant.id, rng.choice(EVENT_TYPES[:3]), rng.choice(times)) for _ in range(60)]
    newest_first = sorted(events, key=lambda e: e.list_key, reverse=True)
    return merchant, newest_first, times


def test_every_change_stores_its_events_even_without_a_webhook_url():
    merchant = new_merchant()
    assert not merchant.webhook_url
    svc = services()
    order = svc.orders.create(merchant, {"amount": 1000})
    payment = svc.payments.create(
        merchant, {"order_id": order["id"], "method": "upi", "vpa": "success@bank"}
    )
    assert svc.payments.settle(payment["id"], time.time()) == "success"
    svc.refunds.create(merchant, payment["id"], {"amount": 100})
    page = svc.events.list(merchant, {"limit": "100"})
    names = [e["event"] for e in page["data"]]
    assert names[0] == "refund.created"
    # payment.success and order.paid share the settle's transaction (and often its millisecond)
    assert sorted(names[1:3]) == ["order.paid", "payment.success"]
    assert sorted(names[3:]) == ["payment.created", "payment.pending"]
    assert not page["has_more"]
    for view in page["data"]:
        stored = WebhookRepository().event(view["id"])
        assert stored.dispatch_shard is None, "nothing to deliver to: not in the outbox"
        assert view["payload"] == stored.body
        assert view["data"]["payment"]["id"] == payment["id"]


def test_events_carry_a_30_day_ttl():
    merchant = new_merchant()
    before = time.time()
    event = new_event(merchant.id, "webhook.test", {"message": "x"})
    WebhookRepository().save_event(event)
    stored = WebhookRepository().event(event.id)
    ttl = stored.expires_at.timestamp()
    assert before + 30 * 86400 - 2 <= ttl <= time.time() + 30 * 86400 + 2


@pytest.mark.parametrize("limit", [1, 7, 10, 60, 100])
def test_pages_neither_skip_nor_repeat_events_sharing_a_timestamp(crowd, limit):
    merchant, newest_first, _ = crowd
    assert read_all(merchant, limit) == [e.id for e in newest_first]


def test_filters_match_a_reference_filter(crowd):
    merchant, newest_first, times = crowd
    rng = random.Random(11)
    bounds = [None, *times, "2026-01-15T10:31:00.004Z", "2026-01-15T10:30:00Z"]
    for _ in range(40):
        event_type = rng.choice([None, *EVENT_TYPES[:4]])
        gte, lt = rng.choice(bounds), rng.choice(bounds)
        filters = {
            k: v
            for k, v in {"type": event_type, "created_gte": gte, "created_lt": lt}.items()
            if v is not None
        }
        gte_iso = gte and clock.iso(clock.now().fromisoformat(gte))
        lt_iso = lt and clock.iso(clock.now().fromisoformat(lt))
        expected = [
            e.id
            for e in newest_first
            if (event_type is None or e.event == event_type)
            and (gte_iso is None or e.created_at >= gte_iso)
            and (lt_iso is None or e.created_at < lt_iso)
        ]
        assert read_all(merchant, rng.choice([1, 3, 10]), **filters) == expected, filters


def test_a_cursor_of_another_type_or_outside_the_window_still_works(crowd):
    merchant, newest_first, _ = crowd
    cursor = newest_first[5]
    other = next(t for t in EVENT_TYPES[:3] if t != cursor.event)
    page = services().events.list(
        merchant, {"type": other, "starting_after": cursor.id, "limit": "100"}
    )
    assert [e["id"] for e in page["data"]] == [e.id for e in newest_first[6:] if e.event == other]
    # A cursor newer than created_lt: the time bound wins.
    page = services().events.list(
        merchant,
        {"starting_after": newest_first[0].id, "created_lt": "2026-01-15T10:31:00.001Z"},
    )
    assert all(e["created_at"] < "2026-01-15T10:31:00.001Z" for e in page["data"])
    # A cursor older than created_gte: nothing is left.
    page = services().events.list(
        merchant, {"starting_after": newest_first[-1].id, "created_gte": "2026-01-15T10:31:00Z"}
    )
    assert page == {"data": [], "has_more": False, "limit": 10}


def test_another_merchants_event_is_unknown_by_id_and_as_a_cursor(crowd):
    owner, newest_first, _ = crowd
    intruder = new_merchant()
    event_id = newest_first[0].id
    with pytest.raises(NotFound) as foreign:
        services().events.get(intruder, event_id)
    with pytest.raises(NotFound) as unknown:
        services().events.get(intruder, "evt_" + "x" * 16)
    assert foreign.value.description == unknown.value.description
    with pytest.raises(BadRequest) as foreign_cursor:
        services().events.list(intruder, {"starting_after": event_id})
    with pytest.raises(BadRequest) as unknown_cursor:
        services().events.list(intruder, {"starting_after": "evt_" + "x" * 16})
    assert foreign_cursor.value.description == unknown_cursor.value.description
    assert services().events.get(owner, event_id)["id"] == event_id
