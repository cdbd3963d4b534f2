"""Every condition the payment, order and refund repositories send is a plain comparison.

DynamoDB allows arithmetic only in an UpdateExpression's SET; MiniStack applies arithmetic in a
ConditionExpression and moto answers it with a 500 (ARCHITECTURE, trap 17). The requests are
captured at PynamoDB's connection, rendered exactly as they would be sent."""

from __future__ import annotations

import re

import pytest
from pynamodb.connection.base import Connection

from paygate.db import pending
from paygate.db.models import EventModel, OrderModel, PaymentModel, RefundModel
from paygate.db.orders import OrderRepository
from paygate.db.payments import PaymentRepository, order_settled_by, order_taken_by
from paygate.db.rate_limits import RateLimitRepository
from paygate.db.refunds import RefundRepository

NOW = "2026-01-15T10:31:00.000Z"


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple[str, dict]] = []

    def record(self, operation, kwargs):
        calls.append((operation, kwargs))
        if operation == "UpdateItem":
            return {"Attributes": dict(kwargs["Key"])}
        return {}

    monkeypatch.setattr(Connection, "_make_api_call", record)
    return calls


def requests(calls):
    """Every (ConditionExpression, UpdateExpression) pair in the captured calls."""
    for operation, kwargs in calls:
        items = (
            [next(iter(i.values())) for i in kwargs["TransactItems"]]
            if operation == "TransactWriteItems"
            else [kwargs]
        )
        for item in items:
            yield item.get("ConditionExpression"), item.get("UpdateExpression")


def order():
    return OrderModel(
        id="order_" + "A" * 16,
        merchant_id="m",
        amount=50000,
        currency="INR",
        status="attempted",
        pending_payment_id="pay_" + "B" * 16,
        created_at=NOW,
        updated_at=NOW,
    )


def payment():
    return PaymentModel(
        id="pay_" + "B" * 16,
        merchant_id="m",
        order_id="order_" + "A" * 16,
        amount=50000,
        currency="INR",
        method="upi",
        vpa="a@b",
        status="pending",
        refunded_amount=0,
        created_at=NOW,
        updated_at=NOW,
    )


def refund():
    return RefundModel(
        id="rfnd_" + "C" * 16,
        payment_id="pay_" + "B" * 16,
        merchant_id="m",
        amount=100,
        status="pending",
        created_at=NOW,
    )


def event():
    return EventModel(id="evt_" + "D" * 16, merchant_id="m", event="x", body="{}", created_at=NOW)


def exercise_every_write():
    payments, refunds = PaymentRepository(), RefundRepository()
    OrderRepository().create(order())
    payments.create(payment(), order_taken_by(payment(), order(), NOW), [event()])
    for status in ("success", "failed"):
        change = order_settled_by(payment(), order(), status, NOW)
        payments.settle(payment(), status, NOW, [event()], ("E", "d"), change)
    payments.capture(payment(), NOW)
    payments.postpone(payment(), NOW)
    refunds.create(payment(), refund(), [event()])
    refunds.mark_processed(refund(), NOW, [event()])
    refunds.postpone(refund(), NOW)
    pending.postpone(payment(), NOW)
    limits = RateLimitRepository()
    limits.add_hit("rate#login#a#0", 960, 5)
    limits.remove_hit("rate#login#a#0")


def test_conditions_hold_no_arithmetic(sent):
    exercise_every_write()
    conditions = [c for c, _ in requests(sent) if c]
    assert len(conditions) >= 15
    for condition in conditions:
        assert not re.search(r"[+\-]", condition), condition


def test_the_order_conditions_are_the_ones_the_contract_needs(sent):
    exercise_every_write()
    rendered = [c for c, _ in requests(sent) if c and "attribute_not_exists" in c and "<>" in c]
    assert rendered, "the creation's order condition was not sent"


def test_the_rate_limit_counts_only_below_its_limit(sent):
    """The hit is conditional (so N concurrent callers take at most `limit` hits), and the
    condition compares with the limit computed in code."""
    RateLimitRepository().add_hit("rate#login#a#0", 960, 5)
    (condition, update), *_ = requests(sent)
    assert "attribute_not_exists" in condition and "<" in condition, condition
    assert update.lstrip().startswith("ADD") or "ADD" in update, update


def test_arithmetic_stays_in_set_or_add(sent):
    exercise_every_write()
    for _, update in requests(sent):
        if update and re.search(r"[+\-]", update):
            assert update.lstrip().startswith("SET"), update
