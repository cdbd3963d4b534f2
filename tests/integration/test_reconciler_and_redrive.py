"""Nothing stays pending for ever: the reconciler re-queues lost jobs, the redrive brings
dead-lettered ones back, and the jobs status counts the dead letters (moto, real queues)."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from paygate import clock
from paygate.db.models import EventModel, PaymentModel, RefundModel
from paygate.queues import Queue, redrive
from paygate.wiring import services
from tests.integration.helpers import (
    context,
    drain,
    event_for,
    handler,
    new_merchant,
    poison_into_dlq,
    receive_all,
)


def dead_letter_queues() -> list[str]:
    settings = services().settings
    return [settings.payment_dlq_url, settings.refund_dlq_url, settings.webhook_dlq_url]


@pytest.fixture(autouse=True)
def no_other_pending_work():
    """Payments and refunds other tests left pending are moved out of this module's way (due
    in the far future), so each test sees only the records it made."""
    for model in (PaymentModel, RefundModel):
        for row in model.to_reconcile.scan():
            row.update(actions=[model.pending_due.set("9999-12-31T00:00:00.000Z")])


@pytest.fixture
def merchant():
    return new_merchant()


def grace() -> timedelta:
    return timedelta(seconds=services().settings.reconcile_after_seconds)


def pending_payment(merchant):
    svc = services()
    order = svc.orders.create(merchant, {"amount": 2500})
    return svc.payments.create(
        merchant, {"order_id": order["id"], "method": "upi", "vpa": "success@okbank"}
    )


def run_worker(kind: str, url: str) -> dict:
    messages = receive_all(url)
    assert messages, f"no {kind} message to process"
    return handler(f"{kind}_worker")(event_for(messages, url), context())


def test_grace_is_short_in_test_mode():
    settings = services().settings
    assert settings.test_mode and settings.reconcile_after_seconds <= 15


def test_a_lost_settle_message_is_requeued_and_settles_once(merchant):
    svc = services()
    payment = pending_payment(merchant)
    drain(svc.settings.payment_queue_url)  # the settle message is lost
    created = clock.now()
    assert svc.reconciler.run(created) == {"payment": 0, "refund": 0}  # not late yet
    late = created + grace() + timedelta(seconds=1)
    assert svc.reconciler.run(late) == {"payment": 1, "refund": 0}
    assert svc.reconciler.run(late) == {"payment": 0, "refund": 0}  # postponed, not re-sent
    assert run_worker("payment", svc.settings.payment_queue_url) == {"batchItemFailures": []}
    stored = PaymentModel.get(payment["id"])
    assert stored.status == "success" and stored.pending_shard is None
    assert svc.orders.get(merchant, payment["order_id"])["status"] == "paid"
    assert svc.reconciler.run(late + timedelta(days=1)) == {"payment": 0, "refund": 0}
    successes = [
        e
        for e in EventModel.scan()
        if e.merchant_id == merchant.id and e.event == "payment.success"
    ]
    assert len(successes) == 1


def test_a_requeued_job_that_races_its_original_still_settles_once(merchant):
    svc = services()
    payment = pending_payment(merchant)
    late = clock.now() + grace() + timedelta(seconds=1)
    assert svc.reconciler.run(late)["payment"] == 1
    messages = receive_all(svc.settings.payment_queue_url)
    assert len(messages) == 2  # the original and the reconciler's
    worker = handler("payment_worker")
    url = svc.settings.payment_queue_url
    assert worker(event_for(messages, url), context()) == {"batchItemFailures": []}
    assert PaymentModel.get(payment["id"]).status == "success"
    stats = svc.payments.stats(merchant)
    assert stats["by_currency"]["INR"] == {
        "total_transactions": 1,
        "total_amount": 2500,
        "success_rate": 100.0,
    }


def test_the_wait_doubles_for_a_job_that_keeps_failing(merchant):
    svc = services()
    payment = pending_payment(merchant)
    first = clock.now() + grace() + timedelta(seconds=1)
    svc.reconciler.run(first)
    due1 = PaymentModel.get(payment["id"]).pending_due
    second = first + timedelta(hours=1)
    assert svc.reconciler.run(first + grace() * 2)["payment"] == 1
    assert svc.reconciler.run(second)["payment"] == 1
    due2 = PaymentModel.get(payment["id"]).pending_due
    assert due1 < due2
    assert clock.iso(second + timedelta(minutes=59)) < due2  # about the record's age again


def test_a_lost_refund_message_is_requeued_and_processed(merchant):
    svc = services()
    payment = pending_payment(merchant)
    svc.payments.settle(payment["id"], sent_at=0)
    drain(svc.settings.payment_queue_url)
    refund = svc.refunds.create(merchant, payment["id"], {"amount": 1000})
    drain(svc.settings.refund_queue_url)
    late = clock.now() + grace() + timedelta(seconds=1)
    assert svc.reconciler.run(late) == {"payment": 0, "refund": 1}
    assert run_worker("refund", svc.settings.refund_queue_url) == {"batchItemFailures": []}
    stored = RefundModel.get(refund["id"])
    assert stored.status == "processed" and stored.pending_shard is None


def test_the_scheduled_function_runs_the_reconciler(merchant):
    from infra.local.lambda_runtime import load_handler
    from tests.integration.helpers import REPO

    payment = pending_payment(merchant)
    PaymentModel(payment["id"]).update(
        actions=[PaymentModel.pending_due.set(clock.iso(clock.now() - timedelta(seconds=1)))]
    )
    drain(services().settings.payment_queue_url)
    reconcile = load_handler(REPO / "functions" / "reconciler", "handler.lambda_handler")
    result = reconcile({"source": "aws.events"}, context("reconciler"))
    assert result["requeued"]["payment"] >= 1
    bodies = [json.loads(m["Body"]) for m in receive_all(services().settings.payment_queue_url)]
    assert {"payment_id": payment["id"]} in bodies


def test_poisoned_settle_is_dead_lettered_then_redriven_and_settles_once(merchant, monkeypatch):
    svc = services()
    url = svc.settings.payment_queue_url
    payment = pending_payment(merchant)

    def throttled(payment_id, sent_at):
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(svc.payments, "settle", throttled)
    poison_into_dlq(url, handler("payment_worker"))
    monkeypatch.undo()
    assert receive_all(url) == []
    assert svc.health.jobs_status()["dead_letter"] == {"payment": 1, "refund": 0, "webhook": 0}
    assert PaymentModel.get(payment["id"]).status == "pending"

    moved, how = redrive(Queue(url))
    assert (moved, how) == (1, "copy")  # moto has no StartMessageMoveTask: the fallback
    assert svc.health.jobs_status()["dead_letter"]["payment"] == 0
    assert run_worker("payment", url) == {"batchItemFailures": []}
    assert PaymentModel.get(payment["id"]).status == "success"
    assert redrive(Queue(url)) == (0, "copy")  # nothing left, nothing duplicated
    assert receive_all(url) == []
    assert svc.orders.get(merchant, payment["order_id"])["status"] == "paid"


def test_redrive_command_moves_every_queue_of_the_stack(merchant, monkeypatch, capsys):
    from infra import redrive as command

    svc = services()
    sqs = boto3.client("sqs")
    for body in ({"payment_id": "pay_" + "A" * 16}, {"payment_id": "pay_" + "B" * 16}):
        sqs.send_message(QueueUrl=svc.settings.payment_dlq_url, MessageBody=json.dumps(body))
    sqs.send_message(
        QueueUrl=svc.settings.refund_dlq_url, MessageBody=json.dumps({"refund_id": "rfnd_x"})
    )
    assert command.main(["--stack", "paygate-it"]) == 0
    out = capsys.readouterr().out
    assert "payment: moved 2" in out and "refund: moved 1" in out and "webhook: moved 0" in out
    bodies = sorted(m["Body"] for m in receive_all(svc.settings.payment_queue_url))
    assert len(bodies) == 2
    assert receive_all(svc.settings.payment_dlq_url) == []


def test_redriving_the_job_of_a_finished_payment_changes_nothing(merchant):
    """A message dead-lettered although its work was done (the delete after the 5th receive
    failed) comes back through the redrive: the payment and its order stay as they were."""
    svc = services()
    payment = pending_payment(merchant)
    assert svc.payments.settle(payment["id"], sent_at=0) == "success"
    drain(svc.settings.payment_queue_url)
    boto3.client("sqs").send_message(
        QueueUrl=svc.settings.payment_dlq_url, MessageBody=json.dumps({"payment_id": payment["id"]})
    )
    assert redrive(Queue(svc.settings.payment_queue_url)) == (1, "copy")
    assert run_worker("payment", svc.settings.payment_queue_url) == {"batchItemFailures": []}
    paid = [
        e for e in EventModel.scan() if e.merchant_id == merchant.id and e.event == "order.paid"
    ]
    assert len(paid) == 1
    order = svc.orders.get(merchant, payment["order_id"])
    assert (order["status"], order["attempts"], order["amount_paid"]) == ("paid", 1, 2500)
