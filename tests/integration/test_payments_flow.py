"""Payments through the real repositories, queues and worker handler, in moto (mock_aws)."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from paygate.db.models import EventModel, PaymentModel
from paygate.errors import BadRequest, NotFound
from paygate.wiring import services
from tests.integration.helpers import (
    context,
    event_for,
    fake_message,
    handler,
    new_merchant,
    poison_into_dlq,
    receive_all,
    seeded_merchant,
)

CARD = {
    "number": "4111 1111 1111 1111",
    "expiry_month": 12,
    "expiry_year": 2030,
    "cvv": "987",
    "holder_name": "Asha Rao",
}


@pytest.fixture
def merchant():
    return new_merchant()


@pytest.fixture
def order(merchant):
    return services().orders.create(merchant, {"amount": 50000})


def events_of(payment_id: str) -> list[str]:
    return sorted(
        json.loads(e.body)["event"]
        for e in EventModel.scan()
        if json.loads(e.body)["data"].get("payment", {}).get("id") == payment_id
    )


def create_card_payment(merchant, order, number=CARD["number"]):
    return services().payments.create(
        merchant, {"order_id": order["id"], "method": "card", "card": {**CARD, "number": number}}
    )


def test_card_number_and_cvv_are_never_stored_nor_queued(merchant, order):
    payment = create_card_payment(merchant, order)
    assert payment["card_last4"] == "1111" and payment["status"] == "pending"
    raw = boto3.client("dynamodb").scan(TableName=services().settings.payments_table)["Items"]
    events = boto3.client("dynamodb").scan(TableName=services().settings.events_table)["Items"]
    messages = receive_all(services().settings.payment_queue_url)
    everything = json.dumps([raw, events, [m["Body"] for m in messages]])
    assert "4111111111111111" not in everything and "4111 1111 1111 1111" not in everything
    # A "cvv" field or the CVV as a value; random ids may contain the letters "cvv".
    assert '"987"' not in everything and '"cvv"' not in everything.lower()
    assert len(messages) == 1 and json.loads(messages[0]["Body"]) == {"payment_id": payment["id"]}


def test_creation_writes_created_and_pending_events_and_counts(merchant, order):
    payment = create_card_payment(merchant, order)
    assert events_of(payment["id"]) == ["payment.created", "payment.pending"]
    assert services().payments.stats(merchant)["total_transactions"] == 1


def test_duplicated_message_settles_once(merchant, order):
    payment = create_card_payment(merchant, order, number="4242424242424242")
    message = receive_all(services().settings.payment_queue_url)[0]
    worker = handler("payment_worker")
    queue_url = services().settings.payment_queue_url
    first = worker(event_for([message], queue_url), context())
    second = worker(event_for([message, {**message, "MessageId": "dup"}], queue_url), context())
    assert first == {"batchItemFailures": []} and second == {"batchItemFailures": []}
    stored = PaymentModel.get(payment["id"])
    assert stored.status == "success"
    assert events_of(payment["id"]).count("payment.success") == 1
    stats = services().payments.stats(merchant)
    assert stats == {
        "total_transactions": 1,
        "total_amount": 50000,
        "success_rate": 100.0,
        "by_currency": {
            "INR": {"total_transactions": 1, "total_amount": 50000, "success_rate": 100.0}
        },
    }


def test_failing_instrument_records_the_error(merchant, order):
    payment = create_card_payment(merchant, order, number="4000000000000002")
    assert services().payments.settle(payment["id"], sent_at=0) == "failed"
    stored = services().payments.get(merchant, payment["id"])
    assert (stored["status"], stored["error_code"], stored["error_description"]) == (
        "failed",
        "PAYMENT_FAILED",
        "Payment processing failed",
    )
    assert events_of(payment["id"]) == ["payment.created", "payment.failed", "payment.pending"]


def test_worker_raising_mid_batch_fails_only_that_record(merchant, monkeypatch):
    svc = services()
    payments = [
        create_card_payment(merchant, svc.orders.create(merchant, {"amount": 100}))
        for _ in range(3)
    ]
    bad = payments[1]["id"]
    real_settle = svc.payments.settle

    def flaky(payment_id, sent_at):
        if payment_id == bad:
            raise RuntimeError("bank connection reset")
        return real_settle(payment_id, sent_at)

    monkeypatch.setattr(svc.payments, "settle", flaky)
    messages = [fake_message({"payment_id": p["id"]}) for p in payments]
    result = handler("payment_worker")(
        event_for(messages, svc.settings.payment_queue_url), context()
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": messages[1]["MessageId"]}]}
    statuses = [PaymentModel.get(p["id"]).status for p in payments]
    assert statuses[0] == "success" and statuses[2] == "success" and statuses[1] == "pending"


def test_message_overtaking_its_payment_is_retried_then_dropped_when_orphaned():
    worker = handler("payment_worker")
    url = services().settings.payment_queue_url
    young = fake_message({"payment_id": "pay_doesnotexist00"})
    assert worker(event_for([young], url), context())["batchItemFailures"]
    old = fake_message({"payment_id": "pay_doesnotexist00"}, sent_at=1)
    assert worker(event_for([old], url), context()) == {"batchItemFailures": []}


def test_poison_message_reaches_the_dlq():
    """Real queue, real redrive policy, the local runtime's poller: 5 receives, then the DLQ."""
    url = services().settings.payment_queue_url
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="not json at all")
    dlq_url = poison_into_dlq(url, handler("payment_worker"))
    dead = receive_all(dlq_url)
    assert [m["Body"] for m in dead] == ["not json at all"]


def test_capture_rules(merchant, order):
    svc = services()
    payment = create_card_payment(merchant, order, number="4242424242424242")
    with pytest.raises(BadRequest, match="capturable"):
        svc.payments.capture(merchant, payment["id"], None)
    svc.payments.settle(payment["id"], sent_at=0)
    with pytest.raises(BadRequest, match="amount"):
        svc.payments.capture(merchant, payment["id"], {"amount": 1})
    captured = svc.payments.capture(merchant, payment["id"], {"amount": 50000})
    assert captured["captured"] is True
    with pytest.raises(BadRequest, match="capturable"):
        svc.payments.capture(merchant, payment["id"], {})
    with pytest.raises(NotFound):
        svc.payments.capture(new_merchant(), payment["id"], {})


def test_failed_payment_cannot_be_captured(merchant, order):
    svc = services()
    payment = create_card_payment(merchant, order, number="4000000000000002")
    svc.payments.settle(payment["id"], sent_at=0)
    with pytest.raises(BadRequest, match="capturable"):
        svc.payments.capture(merchant, payment["id"], None)


def test_foreign_or_unknown_order_is_not_found(merchant):
    other = new_merchant()
    foreign = services().orders.create(other, {"amount": 100})
    for order_id in (foreign["id"], "order_0000000000000000"):
        with pytest.raises(NotFound):
            services().payments.create(
                merchant, {"order_id": order_id, "method": "upi", "vpa": "a@b"}
            )


def test_listing_is_newest_first_with_offset(merchant):
    svc = services()
    ids = [
        svc.payments.create(
            merchant,
            {
                "order_id": svc.orders.create(merchant, {"amount": 100})["id"],
                "method": "upi",
                "vpa": "a@b",
            },
        )["id"]
        for _ in range(4)
    ]
    page = svc.payments.list(merchant, {"limit": "2", "offset": "1"})
    assert [p["id"] for p in page["data"]] == [ids[2], ids[1]]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)


def test_idempotency_race_creates_one_payment():
    """Powertools' conditional write: of 10 racing requests one creates, the rest replay or
    are told the key is in use."""
    merchant = seeded_merchant()
    svc = services()
    order = svc.orders.create(merchant, {"amount": 100})
    body = {"order_id": order["id"], "method": "upi", "vpa": "a@b"}
    results, errors = [], []
    barrier = threading.Barrier(10)

    def call():
        barrier.wait()
        try:
            results.append(
                svc.idempotency.run(
                    merchant.id,
                    "race-key-" + order["id"],
                    ("POST", "/api/v1/payments", body),
                    lambda: svc.payments.create(merchant, body),
                )
            )
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = {json.loads(text)["id"] for text, _ in results}
    assert len(created) == 1
    assert set(errors) <= {"IdempotencyKeyInUse"}
    assert sum(1 for _, replayed in results if not replayed) == 1


def test_an_overtaking_message_comes_back_after_a_second_not_the_visibility_timeout():
    sqs = boto3.client("sqs")
    url = services().settings.payment_queue_url
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"payment_id": "pay_notcommitted0000"}))
    first = receive_all(url)
    assert len(first) == 1
    result = handler("payment_worker")(event_for(first, url), context())
    assert result["batchItemFailures"]
    assert receive_all(url) == []  # still invisible right after
    time.sleep(1.5)
    again = receive_all(url)  # the queue's own visibility timeout is 60 s
    assert [m["MessageId"] for m in again] == [first[0]["MessageId"]]
