"""Refunds through the real repositories and the refund worker, in moto."""

from __future__ import annotations

import json
import threading

import pytest

from paygate.db.models import EventModel, RefundModel
from paygate.errors import BadRequest, NotFound
from paygate.services.refunds import EXCEEDS
from paygate.wiring import services
from tests.integration.helpers import context, event_for, fake_message, handler, new_merchant


@pytest.fixture
def merchant():
    return new_merchant()


def paid(merchant, amount=10000, vpa="success@bank"):
    svc = services()
    order = svc.orders.create(merchant, {"amount": amount})
    payment = svc.payments.create(merchant, {"order_id": order["id"], "method": "upi", "vpa": vpa})
    svc.payments.settle(payment["id"], sent_at=0)
    return payment


def refund_events(refund_id):
    found = []
    for event in EventModel.scan():
        body = json.loads(event.body)
        if body["data"].get("refund", {}).get("id") == refund_id:
            found.append(body)
    return sorted(found, key=lambda b: b["event"])


def test_full_refund_is_processed_once_with_both_events(merchant):
    payment = paid(merchant)
    refund = services().refunds.create(
        merchant, payment["id"], {"amount": 10000, "reason": "damaged"}
    )
    assert refund["status"] == "pending" and refund["id"].startswith("rfnd_")
    message = fake_message({"refund_id": refund["id"]})
    url = services().settings.refund_queue_url
    worker = handler("refund_worker")
    assert worker(event_for([message], url), context()) == {"batchItemFailures": []}
    assert worker(event_for([message], url), context()) == {"batchItemFailures": []}
    stored = RefundModel.get(refund["id"])
    assert stored.status == "processed" and stored.processed_at
    events = refund_events(refund["id"])
    assert [e["event"] for e in events] == ["refund.created", "refund.processed"]
    assert events[1]["data"]["payment"]["id"] == payment["id"]
    assert events[1]["data"]["refund"]["status"] == "processed"


def test_two_partials_exhaust_then_overdraw_is_refused(merchant):
    payment = paid(merchant)
    svc = services().refunds
    svc.create(merchant, payment["id"], {"amount": 4000})
    svc.create(merchant, payment["id"], {"amount": 6000})
    with pytest.raises(BadRequest) as refused:
        svc.create(merchant, payment["id"], {"amount": 1})
    assert refused.value.description == EXCEEDS
    listed = svc.list_for_payment(merchant, payment["id"], None)
    assert listed["total"] == 2 and sum(r["amount"] for r in listed["data"]) == 10000


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": "10"},
        {"amount": 1.5},
        {},
        [],
        {"amount": 10, "reason": 5},
    ],
)
def test_invalid_bodies(merchant, body):
    payment = paid(merchant)
    with pytest.raises(BadRequest):
        services().refunds.create(merchant, payment["id"], body)


def test_pending_failed_unknown_and_foreign_payments(merchant):
    svc = services()
    order = svc.orders.create(merchant, {"amount": 500})
    pending = svc.payments.create(
        merchant, {"order_id": order["id"], "method": "upi", "vpa": "a@b"}
    )
    failed = paid(merchant, vpa="failure@bank")
    for payment_id in (pending["id"], failed["id"]):
        with pytest.raises(BadRequest, match="refundable"):
            svc.refunds.create(merchant, payment_id, {"amount": 100})
    with pytest.raises(NotFound):
        svc.refunds.create(merchant, "pay_0000000000000000", {"amount": 100})
    foreign = paid(new_merchant())
    with pytest.raises(NotFound):
        svc.refunds.create(merchant, foreign["id"], {"amount": 100})


def test_forty_concurrent_refunds_of_ten_percent(merchant):
    payment = paid(merchant, amount=10000)
    accepted, refused, other = [], [], []
    barrier = threading.Barrier(40)

    def refund():
        barrier.wait()
        try:
            accepted.append(services().refunds.create(merchant, payment["id"], {"amount": 1000}))
        except BadRequest as exc:
            refused.append(exc.description)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            other.append(repr(exc))

    threads = [threading.Thread(target=refund) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not other
    assert len(accepted) == 10 and set(refused) == {EXCEEDS}
    stored = [r for r in RefundModel.scan() if r.payment_id == payment["id"]]
    assert len(stored) == 10 and sum(int(r.amount) for r in stored) == 10000


def test_refund_reads_are_scoped(merchant):
    payment = paid(merchant)
    refund = services().refunds.create(merchant, payment["id"], {"amount": 100})
    assert services().refunds.get(merchant, refund["id"])["amount"] == 100
    with pytest.raises(NotFound):
        services().refunds.get(new_merchant(), refund["id"])
