"""The webhook engine with real tables and queues (moto) and a real local receiver."""

from __future__ import annotations

import json
import time

import pytest

from paygate.db.models import EventModel, WebhookLogModel
from paygate.services.webhooks import log_id_for
from paygate.wiring import services
from tests.integration.helpers import (
    context,
    event_for,
    fake_message,
    handler,
    merchant_with_url,
    new_merchant,
    receive_all,
)


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


def pay(merchant, vpa="success@bank"):
    svc = services()
    order = svc.orders.create(merchant, {"amount": 1000})
    return svc.payments.create(merchant, {"order_id": order["id"], "method": "upi", "vpa": vpa})


def everything_queued() -> list[dict]:
    """Every visible message of the webhook queue (received until it is empty)."""
    messages = []
    while batch := receive_all(services().settings.webhook_queue_url):
        messages.extend(batch)
    return messages


def queued_messages(merchant) -> list[dict]:
    """The hand-off messages of `merchant`'s events on the webhook queue, in queue order (received
    until it is empty). Other tests' messages share the queue and the emptying fixture cannot
    remove them all: a message an earlier test received and left becomes visible again 60 s later
    (the queue's visibility timeout), in whichever test runs then, ahead of that test's own."""

    def is_mine(message) -> bool:
        event_id = json.loads(message["Body"]).get("event_id")
        return event_id is not None and EventModel.get(event_id).merchant_id == merchant.id

    return [m for m in everything_queued() if is_mine(m)]


def queued(merchant) -> list[str]:
    """The ids of `merchant`'s events on the webhook queue, in queue order."""
    return [json.loads(m["Body"])["event_id"] for m in queued_messages(merchant)]


def test_events_of_merchants_without_url_are_never_logged():
    merchant = new_merchant()
    payment = pay(merchant)
    services().payments.settle(payment["id"], 0)
    assert queued(merchant) == []
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
    messages = queued_messages(merchant)
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
    event_id = queued(merchant)[0]
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
    bodies = [json.loads(m["Body"]) for m in everything_queued()]
    (message,) = [b for b in bodies if b.get("log_id") == log.id and b["generation"] == 1]
    assert (
        delivery.attempt(message["log_id"], message["attempt"], message["generation"]) == "success"
    )
    assert WebhookLogModel.get(log.id).status == "success"
    assert delivery.attempt(log.id, 3, 0) == "stale"  # an old scheduled message does nothing


def test_refused_connection_and_timeout_are_failed_attempts(receiver):
    merchant = merchant_with_url("http://127.0.0.1:9/closed")
    pay(merchant)
    event_id = queued(merchant)[0]
    assert services().delivery.dispatch(event_id, time.time()) == "retry"
    log = WebhookLogModel.get(log_id_for(event_id))
    assert log.response_code is None and "ConnectionError" in log.response_body
    receiver.delay = 5.5
    slow = merchant_with_url(receiver.url)
    pay(slow)
    event_id = queued(slow)[0]
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
    messages = queued_messages(merchant)[:1]
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


def test_relay_resends_events_a_crash_left_in_the_outbox(receiver, monkeypatch):
    # Other modules leave their own outbox rows and overdue logs in the shared tables, so the
    # checks look at this merchant's events only, not at the relay's totals.
    merchant = merchant_with_url(receiver.url)

    publisher = services().payments.publisher
    monkeypatch.setattr(publisher.queue, "send_batch", lambda *a, **k: 1 / 0)  # crash
    payment = pay(merchant)
    monkeypatch.undo()
    assert queued(merchant) == []
    delivery = services().delivery
    delivery.sweep()  # younger than the relay's 30 s: maybe still in flight
    assert queued(merchant) == []
    delivery.sweep(now=time.time() + 60)
    resent = queued(merchant)
    assert len(resent) >= 2
    for event_id in resent:
        delivery.handle({"event_id": event_id}, time.time())
    delivered = {d.event["data"]["payment"]["id"] for d in receiver.deliveries}
    assert payment["id"] in delivered
    delivery.sweep(now=time.time() + 60)
    assert queued(merchant) == []


def test_orphan_hand_off_is_retried_then_dropped():
    worker = handler("webhook_worker")
    url = services().settings.webhook_queue_url
    young = fake_message({"event_id": "evt_neverwritten000"})
    assert worker(event_for([young], url), context())["batchItemFailures"]
    old = fake_message({"event_id": "evt_neverwritten000"}, sent_at=1)
    assert worker(event_for([old], url), context()) == {"batchItemFailures": []}


def strict_settings():
    """Production's policy, even with test and local mode on: they never imply the allowance."""
    from dataclasses import replace

    return replace(
        services().settings, local_mode=True, test_mode=True, webhook_allow_private_targets=False
    )


def test_internal_urls_are_refused_unless_private_targets_are_allowed():
    from paygate.errors import BadRequest
    from paygate.services.webhooks import WebhookService

    svc = services()
    webhooks = WebhookService(
        svc.webhooks.repo,
        svc.webhooks.merchants,
        svc.webhooks.publisher,
        svc.counters,
        svc.webhooks.queue,
        strict_settings(),
        svc.webhooks.test_limiter,
    )
    merchant = new_merchant()
    for url in (
        "http://127.0.0.1/x",
        "http://10.0.0.8/x",
        "http://169.254.169.254/x",
        "http://100.64.0.1/x",
        "http://[::1]/x",
        "http://[2002:7f00:1::]/x",
        "http://localhost:9000/x",
        "http://2130706433/x",
        "http://127.0.0.1:18999\\@example.com/",
    ):
        with pytest.raises(BadRequest):
            webhooks.set_url(merchant, {"webhook_url": url})
    assert services().merchants.repo.get(merchant.id).webhook_url is None


def test_internal_target_is_refused_again_at_send_time(receiver):
    from paygate.services.webhooks import WebhookDelivery

    merchant = merchant_with_url(receiver.url)  # saved while private targets were allowed
    pay(merchant)
    event_id = queued(merchant)[0]
    svc = services()
    strict = WebhookDelivery(
        svc.delivery.repo, svc.delivery.merchants, svc.delivery.queue, strict_settings()
    )
    assert strict.dispatch(event_id, time.time()) == "retry"
    assert receiver.deliveries == []
    body = WebhookLogModel.get(log_id_for(event_id)).response_body
    assert body.startswith("Refused by URL policy") and "loopback" in body
    assert "received" not in body  # nothing of an internal answer is ever stored


def test_waits_beyond_the_sqs_cap_are_chained(receiver, scheduled):
    """Production schedule: 1800 s after the third failure. SQS delays stop at 900 s, so the
    message arrives early and goes back for the rest of the wait."""
    merchant = merchant_with_url(receiver.url)
    pay(merchant)
    event_id = queued(merchant)[0]
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
