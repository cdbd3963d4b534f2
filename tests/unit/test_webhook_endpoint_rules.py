"""Webhook endpoint rules without storage: the fields' validation, ids, which endpoint wants which
event, and what the merchant record says about it (the hot path's only input)."""

from __future__ import annotations

import pytest

from paygate.db.models import MerchantModel
from paygate.domain import webhook_endpoints as rules
from paygate.domain.events import EVENT_TYPES
from paygate.errors import BadRequest
from paygate.ids import is_id
from paygate.services.events import wants_event


def test_default_endpoint_ids_are_stable_distinct_and_shaped_like_ids():
    a = rules.default_endpoint_id("550e8400-e29b-41d4-a716-446655440000")
    assert a == rules.default_endpoint_id("550e8400-e29b-41d4-a716-446655440000")
    assert a != rules.default_endpoint_id("550e8400-e29b-41d4-a716-446655440001")
    assert a.startswith("we_default") and is_id(a, "we")


@pytest.mark.parametrize(
    "value, expected",
    [
        (["*"], ("*",)),
        (["refund.processed", "payment.success"], ("payment.success", "refund.processed")),
        (["payment.success", "payment.success"], ("payment.success",)),
        (list(EVENT_TYPES), EVENT_TYPES),
    ],
)
def test_enabled_events_are_normalised(value, expected):
    assert rules.parse_enabled_events(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        [],
        None,
        "*",
        {"*": True},
        ["*", "payment.success"],
        ["payment.refunded"],
        ["webhook_endpoint.disabled"],  # a notice: never delivered
        [None],
        ["PAYMENT.SUCCESS"],
        ["payment.success"] * (len(EVENT_TYPES) + 2),
    ],
)
def test_bad_enabled_events_are_refused(value):
    with pytest.raises(BadRequest):
        rules.parse_enabled_events(value)


def test_create_and_update_bodies():
    body = {"url": "https://a.example/x", "enabled_events": ["*"]}
    with pytest.raises(BadRequest, match="Unknown field 'extra'"):
        rules.parse_create({**body, "extra": 1})
    assert rules.parse_create(body) == {
        "url": "https://a.example/x",
        "enabled_events": ("*",),
        "description": None,
    }
    assert rules.parse_update({"status": "disabled"}) == {"status": "disabled"}
    assert rules.parse_update({"description": ""}) == {"description": None}
    for bad in ({}, {"unknown": 1}, {"status": "on"}, {"url": ""}, {"description": "x" * 501}):
        with pytest.raises(BadRequest):
            rules.parse_update(bad)
    with pytest.raises(BadRequest, match="enabled_events is required"):
        rules.parse_create({"url": "https://a.example/x"})


def test_the_union_of_events_is_all_when_one_endpoint_takes_all():
    a = rules.Endpoint(id="we_a", merchant_id="m", url="u", enabled_events=("payment.success",))
    b = rules.Endpoint(id="we_b", merchant_id="m", url="u", enabled_events=("refund.created",))
    c = rules.Endpoint(id="we_c", merchant_id="m", url="u", enabled_events=("*",))
    assert rules.union_of_events([a, b]) == ("payment.success", "refund.created")
    assert rules.union_of_events([a, c]) == ("*",)
    assert rules.union_of_events([]) == ()


def test_raising_an_event_asks_only_the_merchant_record():
    bare = MerchantModel(id="m")
    assert not wants_event(bare, "payment.success") and not wants_event(None, "payment.success")
    legacy = MerchantModel(id="m", webhook_url="https://a.example/x")
    assert wants_event(legacy, "refund.processed")  # the default endpoint takes every event
    filtered = MerchantModel(
        id="m", webhook_url="https://a.example/x", webhook_enabled_events=["payment.failed"]
    )
    assert wants_event(filtered, "payment.failed") and not wants_event(filtered, "refund.created")
    others = MerchantModel(id="m", webhook_subscriptions={"refund.created"})
    assert wants_event(others, "refund.created") and not wants_event(others, "payment.created")
    assert wants_event(MerchantModel(id="m", webhook_subscriptions={"*"}), "webhook.test")


@pytest.mark.parametrize("value", [None, 0, 3600, 604800])
def test_overlap_of_a_roll(value):
    body = None if value is None else {"expire_previous_in": value}
    assert rules.overlap_seconds(body) == (86400 if value is None else value)


@pytest.mark.parametrize("value", [-1, 604801, 1.5, True, "60"])
def test_bad_overlaps_are_refused(value):
    with pytest.raises(BadRequest):
        rules.overlap_seconds({"expire_previous_in": value})
