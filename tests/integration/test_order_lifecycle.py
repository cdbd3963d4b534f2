"""An order is paid once: created → attempted → paid, changed in the payment's transactions
(CONTRACT §5), against moto with the real repositories, queues and worker handler."""

from __future__ import annotations

import json
import threading

import pytest

from paygate.db.errors import ConditionFailed
from paygate.db.models import EventModel, OrderModel, PaymentModel
from paygate.errors import BadRequest, StorageUnavailable
from paygate.wiring import services
from tests.integration.helpers import (
    context,
    event_for,
    fake_message,
    handler,
    new_merchant,
    receive_all,
)

UPI_OK = {"method": "upi", "vpa": "success@okbank"}
UPI_FAIL = {"method": "upi", "vpa": "failure@okbank"}


@pytest.fixture
def merchant():
    return new_merchant()


@pytest.fixture
def order(merchant):
    return services().orders.create(merchant, {"amount": 50000})


def pay(merchant, order, instrument=UPI_OK):
    return services().payments.create(merchant, {"order_id": order["id"], **instrument})


def stored_order(merchant, order):
    return services().orders.get(merchant, order["id"])


def payments_of(order_id):
    return [p for p in PaymentModel.scan() if p.order_id == order_id]


def events_named(name, merchant):
    return [
        json.loads(e.body)
        for e in EventModel.scan()
        if e.merchant_id == merchant.id and e.event == name
    ]


def test_a_new_order_is_created_with_no_attempts(merchant, order):
    assert (order["status"], order["attempts"], order["amount_paid"]) == ("created", 0, 0)


def test_success_makes_the_order_paid_with_its_event(merchant, order):
    payment = pay(merchant, order)
    attempted = stored_order(merchant, order)
    assert (attempted["status"], attempted["attempts"], attempted["amount_paid"]) == (
        "attempted",
        1,
        0,
    )
    assert services().payments.settle(payment["id"], sent_at=0) == "success"
    paid = stored_order(merchant, order)
    assert (paid["status"], paid["attempts"], paid["amount_paid"]) == ("paid", 1, 50000)
    [event] = events_named("order.paid", merchant)
    assert event["data"]["order"]["id"] == order["id"]
    assert event["data"]["order"]["status"] == "paid"
    assert event["data"]["order"]["amount_paid"] == 50000
    assert event["data"]["payment"]["id"] == payment["id"]
    assert event["data"]["payment"]["status"] == "success"


def test_a_pending_payment_blocks_a_second_one(merchant, order):
    pay(merchant, order)
    with pytest.raises(BadRequest, match="^Order has a payment in progress$"):
        pay(merchant, order)
    with pytest.raises(BadRequest, match="^Order has a payment in progress$"):
        services().payments.create(None, {"order_id": order["id"], **UPI_OK})
    assert len(payments_of(order["id"])) == 1
    assert stored_order(merchant, order)["attempts"] == 1


def test_a_paid_order_refuses_every_new_payment(merchant, order):
    payment = pay(merchant, order)
    services().payments.settle(payment["id"], sent_at=0)
    for caller in (merchant, None):
        with pytest.raises(BadRequest, match="^Order is already paid$"):
            services().payments.create(caller, {"order_id": order["id"], **UPI_OK})
    assert len(payments_of(order["id"])) == 1


def test_a_failed_payment_frees_the_order_for_a_new_attempt(merchant, order):
    first = pay(merchant, order, UPI_FAIL)
    assert services().payments.settle(first["id"], sent_at=0) == "failed"
    after_failure = stored_order(merchant, order)
    assert (after_failure["status"], after_failure["attempts"], after_failure["amount_paid"]) == (
        "attempted",
        1,
        0,
    )
    assert events_named("order.paid", merchant) == []
    second = pay(merchant, order)
    assert services().payments.settle(second["id"], sent_at=0) == "success"
    final = stored_order(merchant, order)
    assert (final["status"], final["attempts"], final["amount_paid"]) == ("paid", 2, 50000)
    assert OrderModel.get(order["id"]).paid_payment_id == second["id"]


def test_a_refused_create_leaves_an_orphan_message_that_settles_nothing(merchant, order):
    first = pay(merchant, order)
    with pytest.raises(BadRequest):
        pay(merchant, order)
    messages = receive_all(services().settings.payment_queue_url)
    ids = [json.loads(m["Body"])["payment_id"] for m in messages]
    # The pre-check refuses before anything is queued; force the race the condition catches:
    # a message sent, then the transaction refused.
    assert ids == [first["id"]]
    orphan_id = "pay_" + "Z" * 16
    worker = handler("payment_worker")
    url = services().settings.payment_queue_url
    old = fake_message({"payment_id": orphan_id}, sent_at=1)
    assert worker(event_for([old], url), context()) == {"batchItemFailures": []}
    assert PaymentModel.get(first["id"]).status == "pending"
    assert stored_order(merchant, order)["status"] == "attempted"


def test_when_the_condition_refuses_the_message_already_sent_is_an_orphan(
    merchant, order, monkeypatch
):
    """The race the pre-check cannot see: the order is free when read, taken when written."""
    svc = services()
    real_find = svc.orders.find
    stale = real_find(order["id"])  # read while the order is still free
    winner = pay(merchant, order)
    calls = iter([stale])
    monkeypatch.setattr(svc.orders, "find", lambda *a, **k: next(calls, None) or real_find(*a))
    with pytest.raises(BadRequest, match="^Order has a payment in progress$"):
        pay(merchant, order)
    messages = receive_all(svc.settings.payment_queue_url)
    ids = {json.loads(m["Body"])["payment_id"] for m in messages}
    assert winner["id"] in ids and len(ids) == 2  # the loser's message went out first
    [orphan] = ids - {winner["id"]}
    assert PaymentModel.count(orphan) == 0
    worker = handler("payment_worker")
    url = svc.settings.payment_queue_url
    late = fake_message({"payment_id": orphan}, sent_at=1)
    assert worker(event_for([late], url), context()) == {"batchItemFailures": []}
    assert [p.id for p in payments_of(order["id"])] == [winner["id"]]


def test_racing_payments_on_one_order_create_exactly_one(merchant, order):
    svc = services()
    barrier = threading.Barrier(12)
    created, refused, other = [], [], []

    def attempt(index):
        barrier.wait()
        caller = merchant if index % 2 else None
        try:
            created.append(svc.payments.create(caller, {"order_id": order["id"], **UPI_OK}))
        except BadRequest as exc:
            refused.append(exc.description)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            other.append(repr(exc))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other == []
    assert len(created) == 1 and len(refused) == 11
    assert set(refused) == {"Order has a payment in progress"}
    assert [p.id for p in payments_of(order["id"])] == [created[0]["id"]]
    assert stored_order(merchant, order)["attempts"] == 1


def test_settling_twice_in_parallel_pays_the_order_once(merchant, order):
    payment = pay(merchant, order)
    barrier = threading.Barrier(6)
    outcomes = []

    def settle():
        barrier.wait()
        try:
            outcomes.append(services().payments.settle(payment["id"], sent_at=0))
        except (ConditionFailed, StorageUnavailable) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=settle) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("success") == 1
    assert set(outcomes) <= {"success", "already_settled"}
    assert len(events_named("order.paid", merchant)) == 1
    stats = services().payments.stats(merchant)
    assert stats["by_currency"]["INR"]["total_amount"] == 50000


def test_a_crash_between_queueing_and_the_write_leaves_the_order_free(merchant, order, monkeypatch):
    """Create sends the job, then dies before its transaction: no payment, the order untouched,
    and the job an orphan that settles nothing."""
    svc = services()

    def crash(*_a, **_k):
        raise StorageUnavailable("process died")

    monkeypatch.setattr(svc.payments.repo, "create", crash)
    with pytest.raises(StorageUnavailable):
        pay(merchant, order)
    monkeypatch.undo()
    untouched = stored_order(merchant, order)
    assert (untouched["status"], untouched["attempts"]) == ("created", 0)
    [message] = receive_all(svc.settings.payment_queue_url)
    worker = handler("payment_worker")
    url = svc.settings.payment_queue_url
    late = fake_message(json.loads(message["Body"]), sent_at=1)
    assert worker(event_for([late], url), context()) == {"batchItemFailures": []}
    retry = pay(merchant, order)
    assert svc.payments.settle(retry["id"], sent_at=0) == "success"
    assert stored_order(merchant, order)["status"] == "paid"


def test_a_crash_after_the_settle_commits_redelivers_without_paying_twice(
    merchant, order, monkeypatch
):
    """The worker dies after its transaction, before handing events off: the redelivered
    message finds the payment settled; one order.paid event, left for the outbox relay."""
    svc = services()
    payment = pay(merchant, order)

    def crash(*_a, **_k):
        raise RuntimeError("process died")

    monkeypatch.setattr(svc.payments.publisher, "publish", crash)
    url = svc.settings.payment_queue_url
    message = fake_message({"payment_id": payment["id"]})
    worker = handler("payment_worker")
    assert worker(event_for([message], url), context())["batchItemFailures"]
    monkeypatch.undo()
    assert worker(event_for([message], url), context()) == {"batchItemFailures": []}
    assert stored_order(merchant, order)["status"] == "paid"
    assert len(events_named("order.paid", merchant)) == 1
    assert svc.payments.stats(merchant)["by_currency"]["INR"]["total_amount"] == 50000


def test_amounts_of_other_currencies_are_counted_apart(merchant):
    svc = services()
    for amount, currency in ((50000, "JPY"), (1500, "KWD"), (20000, "INR")):
        order = svc.orders.create(merchant, {"amount": amount, "currency": currency})
        payment = pay(merchant, order)
        assert payment["currency"] == currency
        svc.payments.settle(payment["id"], sent_at=0)
    stats = svc.payments.stats(merchant)
    assert stats["total_transactions"] == 3 and stats["total_amount"] == 20000
    assert {c: v["total_amount"] for c, v in stats["by_currency"].items()} == {
        "INR": 20000,
        "JPY": 50000,
        "KWD": 1500,
    }


def test_a_crash_after_the_commit_inside_a_keyed_request_cannot_pay_twice(merchant, order):
    """The API dies after the payment's transaction, before Powertools stores the answer: the
    key is released, the merchant retries with it, and the order's slot refuses a second
    payment (the key alone could not: its record was never completed)."""
    svc = services()
    body = {"order_id": order["id"], **UPI_OK}
    request = ("POST", "/api/v1/payments", body)
    key = "crash-" + order["id"]

    def create_then_crash():
        svc.payments.create(merchant, body)
        raise StorageUnavailable("process died before answering")

    with pytest.raises(StorageUnavailable):
        svc.idempotency.run(merchant.id, key, request, create_then_crash)
    with pytest.raises(BadRequest, match="^Order has a payment in progress$"):
        svc.idempotency.run(merchant.id, key, request, lambda: svc.payments.create(merchant, body))
    assert len(payments_of(order["id"])) == 1


def test_keys_are_bound_to_method_path_and_body(merchant, order):
    svc = services()
    from paygate.errors import IdempotencyKeyReused

    body = {"order_id": order["id"], **UPI_OK}
    first, replayed = svc.idempotency.run(
        merchant.id,
        "k-" + order["id"],
        ("POST", "/api/v1/payments", body),
        lambda: pay(merchant, order),
    )
    assert not replayed
    for other in (
        ("POST", "/api/v1/orders", body),
        ("POST", "/api/v1/payments", {**body, "vpa": "other@okbank"}),
        ("PUT", "/api/v1/payments", body),
    ):
        with pytest.raises(IdempotencyKeyReused):
            svc.idempotency.run(merchant.id, "k-" + order["id"], other, lambda: {"never": 1})
    again, replayed = svc.idempotency.run(
        merchant.id, "k-" + order["id"], ("post", "/api/v1/payments", body), lambda: {"never": 1}
    )
    assert replayed and again == first


def test_a_creation_whose_first_commit_answer_was_lost_is_not_refused(merchant, order, monkeypatch):
    """The transaction commits but its answer is lost and the write is tried again: the second
    try finds the order held by this very payment, which is success, not a refusal."""
    svc = services()
    real_create = svc.payments.repo.create
    calls = []

    def commit_then_lose_the_answer(payment, change, events):
        calls.append(payment.id)
        real_create(payment, change, events)
        if len(calls) == 1:
            raise ConditionFailed(["ConditionalCheckFailed"])  # what the retry would see

    monkeypatch.setattr(svc.payments.repo, "create", commit_then_lose_the_answer)
    payment = pay(merchant, order)
    assert calls == [payment["id"]]
    assert [p.id for p in payments_of(order["id"])] == [payment["id"]]
