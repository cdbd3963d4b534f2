"""The webhook engine with real tables and queues (moto) and a real local receiver."""

from __future__ import annotations

import json
import time

import pytest

from infra.local.webhook_receiver import Receiver
from paygate.db.models import EventModel, WebhookLogModel
from paygate.services.webhooks import log_id_for
from paygate.wiring import services
from tests.integration.helpers import (
    context,
    drain,
    event_for,
    fake_message,
    handler,
    new_merchant,
    receive_all,
)


@pytest.fixture
def receiver():
    running = Receiver("unused").start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def empty_webhook_queue():
    drain(services().settings.webhook_queue_url)


@pytest.fixture
def scheduled(monkeypatch):
    """Every attempt message the engine queues, with its delay (and still sent for real)."""
    queue = services().delivery.queue
    real = queue.send
    seen = []

    def recording(message, delay_ms=0):
        seen.append((message, delay_ms))
        return real(message, delay_ms)

    monkeypatch.setattr(queue, "send", recording)
    return seen


def merchant_with_url(url):
    merchant = new_merchant()
    services().webhooks.set_url(merchant, {"webhook_url": url})
    return services().merchants.repo.get(merchant.id)


def pay(merchant, vpa="success@bank"):
    svc = services()
    order = svc.orders.create(merchant, {"amount": 1000})
    return svc.payments.create(merchant, {"order_id": order["id"], "method": "upi", "vpa": vpa})


def queued(kind):
    return [
        json.loads(m["Body"])
        for m in receive_all(services().settings.webhook_queue_url)
        if kind in json.loads(m["Body"])
    ]


def test_events_of_merchants_without_url_are_never_logged():
    merchant = new_merchant()
    payment = pay(merchant)
    services().payments.settle(payment["id"], 0)
    assert queued("event_id") == []
    events = [e for e in EventModel.scan() if e.merchant_id == merchant.id]
    assert sorted(e.event for e in events) == [
        "order.paid",
        "payment.created",
        "payment.pending",
        "payment.success",
    ]
    assert all(e.dispatch_shard is None for e in events)
    assert not [log for log in WebhookLogModel.scan() if log.merchant_id == merchant.id]


def test_event_is_delivered_signed_and_logged_once(receiver):
    merchant = merchant_with_url(receiver.url)
    receiver.secret = merchant.webhook_secret
    pay(merchant)
    messages = receive_all(services().settings.webhook_queue_url)
    assert len(messages) == 2  # payment.created and payment.pending
    worker = handler("webhook_worker")
    url = services().settings.webhook_queue_url
    assert worker(event_for(messages, url), context()) == {"batchItemFailures": []}
    assert worker(event_for(messages, url), context()) == {"batchItemFailures": []}  # duplicate
    assert sorted(d.event["event"] for d in receiver.deliveries) == [
        "payment.created",
        "payment.pending",
    ]
    assert all(d.legacy_ok and d.standard_ok for d in receiver.deliveries)
    assert all(d.headers["webhook-id"] == d.event["id"] for d in receiver.deliveries)
    logs = services().webhooks.list_logs(merchant, None)
    assert logs["total"] == 2 and {log["status"] for log in logs["data"]} == {"success"}
    assert all(log["attempts"] == 1 and log["response_code"] == 200 for log in logs["data"])


def test_failure_schedules_the_next_attempt_and_fifth_failure_is_final(receiver, scheduled):
    receiver.status = 500
    merchant = merchant_with_url(receiver.url)
    delivery = services().delivery
    pay(merchant)
    event_id = queued("event_id")[0]["event_id"]
    assert delivery.dispatch(event_id, time.time()) == "retry"
    log = WebhookLogModel.get(log_id_for(event_id))
    assert (log.status, int(log.attempts), log.response_code) == ("pending", 1, 500)
    assert 4 < log.next_retry_epoch - time.time() <= 5  # test schedule: 5 s
    ((message, delay_ms),) = scheduled
    assert message == {"log_id": log.id, "attempt": 2, "generation": 0}
    assert 4000 < delay_ms <= 5000
    for attempt in range(2, 6):
        WebhookLogModel(id=log.id).update(actions=[WebhookLogModel.next_retry_epoch.set(0)])
        outcome = delivery.attempt(log.id, attempt, 0)
        assert outcome == ("failed" if attempt == 5 else "retry")
    final = WebhookLogModel.get(log.id)
    assert (final.status, int(final.attempts)) == ("failed", 5) and final.next_retry_at is None
    assert len(receiver.deliveries) == 5
    assert len({d.headers["webhook-id"] for d in receiver.deliveries}) == 1
    assert [m["attempt"] for m, _ in scheduled] == [2, 3, 4, 5]
    receiver.status = 200
    assert services().webhooks.retry(merchant, log.id)["status"] == "pending"
    message = [m for m in queued("log_id") if m["generation"] == 1][0]
    assert (
        delivery.attempt(message["log_id"], message["attempt"], message["generation"]) == "success"
    )
    assert WebhookLogModel.get(log.id).status == "success"
    assert delivery.attempt(log.id, 3, 0) == "stale"  # an old scheduled message does nothing


def test_refused_connection_and_timeout_are_failed_attempts(receiver):
    merchant = merchant_with_url("http://127.0.0.1:9/closed")
    pay(merchant)
    event_id = queued("event_id")[0]["event_id"]
    assert services().delivery.dispatch(event_id, time.time()) == "retry"
    log = WebhookLogModel.get(log_id_for(event_id))
    assert log.response_code is None and "ConnectionError" in log.response_body
    receiver.delay = 5.5
    slow = merchant_with_url(receiver.url)
    drain(services().settings.webhook_queue_url)
    pay(slow)
    event_id = queued("event_id")[0]["event_id"]
    started = time.monotonic()
    assert services().delivery.dispatch(event_id, time.time()) == "retry"
    assert time.monotonic() - started < 7
    assert "Timeout" in WebhookLogModel.get(log_id_for(event_id)).response_body


def test_crash_between_post_and_log_update_repeats_with_same_webhook_id(receiver, monkeypatch):
    merchant = merchant_with_url(receiver.url)
    repo = services().delivery.repo
    real = repo.record_attempt
    crash = {"now": True}

    def dying(*args, **kwargs):
        if crash.pop("now", False):
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(repo, "record_attempt", dying)
    pay(merchant)
    messages = receive_all(services().settings.webhook_queue_url)[:1]
    url = services().settings.webhook_queue_url
    worker = handler("webhook_worker")
    failed = worker(event_for(messages, url), context())
    assert failed["batchItemFailures"]  # the message stays on the queue
    assert worker(event_for(messages, url), context()) == {"batchItemFailures": []}
    assert len(receiver.deliveries) == 2
    assert (
        receiver.deliveries[0].headers["webhook-id"] == receiver.deliveries[1].headers["webhook-id"]
    )
    log = WebhookLogModel.get(log_id_for(receiver.deliveries[0].event["id"]))
    assert (log.status, int(log.attempts)) == ("success", 1)


def all_queued(kind: str) -> list[dict]:
    """Every message of `kind` on the webhook queue (more than one page of ten)."""
    found = []
    while page := queued(kind):
        found += page
    return found


def test_relay_resends_events_a_crash_left_in_the_outbox(receiver, monkeypatch):
    merchant = merchant_with_url(receiver.url)
    publisher = services().payments.publisher
    monkeypatch.setattr(publisher.queue, "send_batch", lambda *a, **k: 1 / 0)  # crash
    payment = pay(merchant)
    monkeypatch.undo()
    assert queued("event_id") == []
    ours = {e.id for e in EventModel.scan() if e.merchant_id == merchant.id}
    delivery = services().delivery
    delivery.sweep()  # what earlier tests left over 30 s ago may go; ours is younger
    assert not ours & {m["event_id"] for m in all_queued("event_id")}, "resent too early"
    assert delivery.sweep(now=time.time() + 60) >= 2
    # Other tests' undelivered events are re-sent too: hand off every one.
    while resent := [m["event_id"] for m in queued("event_id")]:
        for event_id in resent:
            delivery.handle({"event_id": event_id}, time.time())
    delivered = {d.event["data"]["payment"]["id"] for d in receiver.deliveries}
    assert payment["id"] in delivered
    assert delivery.sweep(now=time.time() + 60) == 0


def test_orphan_hand_off_is_retried_then_dropped():
    worker = handler("webhook_worker")
    url = services().settings.webhook_queue_url
    young = fake_message({"event_id": "evt_neverwritten000"})
    assert worker(event_for([young], url), context())["batchItemFailures"]
    old = fake_message({"event_id": "evt_neverwritten000"}, sent_at=1)
    assert worker(event_for([old], url), context()) == {"batchItemFailures": []}


def test_internal_urls_are_refused_outside_local_and_test_mode():
    from dataclasses import replace

    from paygate.errors import BadRequest
    from paygate.services.webhooks import WebhookService

    svc = services()
    production = replace(svc.settings, local_mode=False, test_mode=False)
    webhooks = WebhookService(
        svc.webhooks.repo,
        svc.webhooks.merchants,
        svc.webhooks.publisher,
        svc.counters,
        svc.webhooks.queue,
        production,
    )
    merchant = new_merchant()
    for url in (
        "http://127.0.0.1/x",
        "http://10.0.0.8/x",
        "http://169.254.169.254/x",
        "http://[::1]/x",
        "http://localhost:9000/x",
    ):
        with pytest.raises(BadRequest):
            webhooks.set_url(merchant, {"webhook_url": url})
    assert services().merchants.repo.get(merchant.id).webhook_url is None


def test_internal_target_is_refused_again_at_send_time(receiver):
    from dataclasses import replace

    from paygate.services.webhooks import WebhookDelivery

    merchant = merchant_with_url(receiver.url)  # saved while local mode allowed it
    pay(merchant)
    event_id = queued("event_id")[0]["event_id"]
    svc = services()
    production = replace(svc.settings, local_mode=False, test_mode=False)
    strict = WebhookDelivery(
        svc.delivery.repo, svc.delivery.merchants, svc.delivery.queue, production
    )
    assert strict.dispatch(event_id, time.time()) == "retry"
    assert receiver.deliveries == []
    assert "Refused by URL policy" in WebhookLogModel.get(log_id_for(event_id)).response_body


def test_waits_beyond_the_sqs_cap_are_chained(receiver, scheduled):
    """Production schedule: 1800 s after the third failure. SQS delays stop at 900 s, so the
    message arrives early and goes back for the rest of the wait."""
    merchant = merchant_with_url(receiver.url)
    pay(merchant)
    event_id = queued("event_id")[0]["event_id"]
    delivery = services().delivery
    assert delivery.dispatch(event_id, time.time()) == "success"
    log = WebhookLogModel.get(log_id_for(event_id))
    due = time.time() + 1800
    log.update(
        actions=[
            WebhookLogModel.status.set("pending"),
            WebhookLogModel.attempts.set(3),
            WebhookLogModel.next_retry_epoch.set(due),
        ]
    )
    scheduled.clear()
    assert delivery.attempt(log.id, 4, 0) == "not_due"
    ((message, delay_ms),) = scheduled
    assert message == {"log_id": log.id, "attempt": 4, "generation": 0} and delay_ms == 900_000
    assert len(receiver.deliveries) == 1  # nothing sent early
    log.update(actions=[WebhookLogModel.next_retry_epoch.set(time.time() + 300)])
    assert delivery.attempt(log.id, 4, 0) == "not_due"
    assert 299_000 <= scheduled[-1][1] <= 300_000
