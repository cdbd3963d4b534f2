"""Webhook delivery under hostile receivers, lost messages and secret rotation (moto tables and
queues, the real worker handler, real local receivers)."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from infra.local.hostile_receivers import HostileReceiver
from paygate.db.models import WebhookLogModel
from paygate.errors import RateLimited
from paygate.services.webhooks import RELAY_OVERDUE_AFTER_SECONDS, log_id_for
from paygate.wiring import services
from tests.integration.helpers import (
    context,
    drain,
    event_for,
    fake_message,
    handler,
    merchant_with_url,
    new_merchant,
    receive_all,
)


@pytest.fixture(autouse=True)
def empty_webhook_queue():
    drain(services().settings.webhook_queue_url)
    yield
    drain(services().settings.webhook_queue_url)


def overdue_by(log_id: str, seconds: float) -> None:
    """Pretend the log's next attempt was due `seconds` ago (time passing, without waiting)."""
    due = time.time() - seconds
    WebhookLogModel(id=log_id).update(
        actions=[WebhookLogModel.next_retry_epoch.set(due)],
    )


def resent_for(log_id: str, delivery) -> list[dict]:
    """Run the relay now; the messages it queued for `log_id` (other tests' pending logs share
    the table, so the relay may resend theirs too)."""
    drain(services().settings.webhook_queue_url)
    delivery.sweep()
    return [
        m
        for m in receive_all(services().settings.webhook_queue_url)
        if json.loads(m["Body"]).get("log_id") == log_id
    ]


def test_event_messages(merchant) -> list[dict]:
    """Queue a test event for `merchant`; its hand-off message (as a fake SQS message)."""
    event_log = services().webhooks.send_test(merchant)["id"]
    for message in receive_all(services().settings.webhook_queue_url):
        body = json.loads(message["Body"])
        if "event_id" in body and log_id_for(body["event_id"]) == event_log:
            return fake_message(body)
    raise AssertionError("no hand-off message for the test event")


test_event_messages.__test__ = False  # a helper, not a test


# ------------------------------------------------------------------ isolation inside a batch
def test_a_trickling_receiver_does_not_delay_another_merchants_record_in_the_batch(receiver):
    trickle = HostileReceiver("trickle", interval=0.5).start()
    huge = HostileReceiver("huge", status=500).start()
    try:
        slow = merchant_with_url(trickle.url)
        big = merchant_with_url(huge.url)
        healthy = merchant_with_url(receiver.url)
        receiver.secret = healthy.webhook_secret
        batch = [
            test_event_messages(slow),
            test_event_messages(big),
            test_event_messages(slow),
            test_event_messages(healthy),
        ]
        worker = handler("webhook_worker")
        started = time.time()
        result = worker(event_for(batch, services().settings.webhook_queue_url), context())
        elapsed = time.time() - started
    finally:
        trickle.stop()
        huge.stop()
    assert result == {"batchItemFailures": []}
    (delivery,) = receiver.deliveries
    assert delivery.at - started < 1.0, delivery.at - started  # not after the slow ones
    assert elapsed < 6.0, elapsed  # the batch takes one attempt's bound, not the sum
    outcomes = sorted(
        (log.status, int(log.response_code or 0), (log.response_body or "")[:7])
        for log in (
            WebhookLogModel.get(log_id_for(json.loads(b["Body"])["event_id"])) for b in batch
        )
    )
    assert outcomes == [
        ("pending", 0, "Timeout"),
        ("pending", 0, "Timeout"),
        ("pending", 500, "\0" * 7),
        ("success", 200, '{"recei'),
    ]
    assert huge.bytes_sent < 20 * 1024 * 1024


# ------------------------------------------------------------------ nothing pending for ever
def _dlq_url(queue_url: str) -> str:
    sqs = boto3.client("sqs")
    policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    arn = json.loads(policy["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
    return sqs.get_queue_url(QueueName=arn.split(":")[-1])["QueueUrl"]


def test_a_dead_lettered_attempt_is_resent_by_the_relay_and_counted_once(receiver, monkeypatch):
    from infra.local.poller import Poller

    svc = services()
    sqs = boto3.client("sqs")
    url = svc.settings.webhook_queue_url
    dlq = _dlq_url(url)
    drain(dlq)
    receiver.status = 500
    merchant = merchant_with_url(receiver.url)
    receiver.secret = merchant.webhook_secret
    log_id = svc.webhooks.send_test(merchant)["id"]
    hand_off = [m for m in receive_all(url) if "event_id" in json.loads(m["Body"])]
    worker = handler("webhook_worker")
    assert worker(event_for(hand_off, url), context()) == {"batchItemFailures": []}
    log = WebhookLogModel.get(log_id)
    assert (log.status, int(log.attempts)) == ("pending", 1)
    drain(url)  # the hand-off message is consumed; the attempt-2 message is what is left

    # Poison the attempt-2 message: the worker crashes on it until the redrive policy moves
    # it to the DLQ (5 receives), exactly as a poison message would go.
    sqs.send_message(
        QueueUrl=url, MessageBody=json.dumps({"log_id": log_id, "attempt": 2, "generation": 0})
    )
    delivery = svc.delivery
    real_attempt = delivery.attempt

    def crashing(log_id_, attempt, generation):
        raise RuntimeError("poisoned")

    monkeypatch.setattr(delivery, "attempt", crashing)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    try:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        mapping = {
            "EventSourceArn": arn["Attributes"]["QueueArn"],
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        poller = Poller(sqs, mapping, url, worker, "webhook", 10)
        for _ in range(6):
            messages = receive_all(url)
            if messages:
                poller.slots.acquire()
                poller._invoke(messages)
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    monkeypatch.setattr(delivery, "attempt", real_attempt)
    dead = receive_all(dlq)
    assert [json.loads(m["Body"])["log_id"] for m in dead] == [log_id]
    assert receive_all(url) == []
    log = WebhookLogModel.get(log_id)
    assert (log.status, int(log.attempts)) == ("pending", 1)  # stuck, as before this fix

    overdue_by(log_id, RELAY_OVERDUE_AFTER_SECONDS - 5)
    assert resent_for(log_id, delivery) == []  # maybe still on its way: not yet
    overdue_by(log_id, RELAY_OVERDUE_AFTER_SECONDS + 1)
    receiver.status = 200
    resent = resent_for(log_id, delivery)
    assert [json.loads(m["Body"]) for m in resent] == [
        {"log_id": log_id, "attempt": 2, "generation": 0}
    ]
    assert worker(event_for(resent, url), context()) == {"batchItemFailures": []}
    log = WebhookLogModel.get(log_id)
    assert (log.status, int(log.attempts), int(log.response_code)) == ("success", 2, 200)
    assert log.retry_shard is None  # out of the index once final

    # The dead-lettered original, redriven later, repeats nothing and counts nothing.
    assert worker(event_for(dead, url), context()) == {"batchItemFailures": []}
    assert int(WebhookLogModel.get(log_id).attempts) == 2
    assert len(receiver.deliveries) == 2
    assert resent_for(log_id, delivery) == []


def test_the_relay_finishes_a_log_whose_attempts_keep_failing(receiver):
    """Overdue attempts re-sent by the relay follow the schedule to `failed`, one count each."""
    receiver.status = 503
    merchant = merchant_with_url(receiver.url)
    log_id = services().webhooks.send_test(merchant)["id"]
    delivery = services().delivery
    url = services().settings.webhook_queue_url
    worker = handler("webhook_worker")
    assert worker(event_for(receive_all(url), url), context()) == {"batchItemFailures": []}
    for _ in range(4):
        drain(url)  # every scheduled attempt message is lost
        assert WebhookLogModel.get(log_id).status == "pending"
        overdue_by(log_id, RELAY_OVERDUE_AFTER_SECONDS + 1)
        messages = resent_for(log_id, delivery)
        assert len(messages) == 1
        assert worker(event_for(messages, url), context()) == {"batchItemFailures": []}
    log = WebhookLogModel.get(log_id)
    assert (log.status, int(log.attempts)) == ("failed", 5)
    assert len(receiver.deliveries) == 5
    assert log.retry_shard is None


def test_overdue_is_a_query_on_the_sparse_index():
    """Only pending logs are in `retry-index`; success and failed ones are not."""
    from paygate.db.webhooks import WebhookRepository

    repo = WebhookRepository()
    overdue = repo.overdue(time.time() + 10 * 86400, limit=1000)
    assert all(log.status == "pending" for log in overdue)
    assert [float(log.next_retry_epoch) for log in overdue] == sorted(
        float(log.next_retry_epoch) for log in overdue
    )


# ------------------------------------------------------------------ secret rotation
def test_a_pending_retry_after_regenerate_is_signed_with_both_secrets(receiver):
    svc = services()
    receiver.status = 500
    merchant = merchant_with_url(receiver.url)
    old = merchant.webhook_secret
    log_id = svc.webhooks.send_test(merchant)["id"]
    hand_off = [m for m in receive_all(svc.settings.webhook_queue_url)]
    worker = handler("webhook_worker")
    worker(event_for(hand_off, svc.settings.webhook_queue_url), context())
    assert WebhookLogModel.get(log_id).attempts == 1

    rotated = svc.webhooks.regenerate_secret(merchant, {"expire_previous_in": 3600})
    new = rotated["webhook_secret"]
    assert new != old and new.startswith("whsec_")
    expires = rotated["previous_secret_expires_at"]
    assert expires == svc.webhooks.config(merchant)["previous_secret_expires_at"]

    receiver.status = 200
    WebhookLogModel(id=log_id).update(actions=[WebhookLogModel.next_retry_epoch.set(0)])
    assert svc.delivery.attempt(log_id, 2, 0) == "success"
    first, retry = receiver.deliveries
    assert len(first.headers["webhook-signature"].split()) == 1
    assert len(retry.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(retry.body, retry.headers)["id"] == retry.event["id"]
    import hashlib
    import hmac

    assert (
        retry.headers["x-webhook-signature"]
        == hmac.new(new.encode(), retry.body, hashlib.sha256).hexdigest()
    )


def test_regenerate_with_no_overlap_and_two_rolls_in_a_row(receiver):
    svc = services()
    merchant = merchant_with_url(receiver.url)
    first = svc.webhooks.regenerate_secret(merchant, {"expire_previous_in": 600})["webhook_secret"]
    second = svc.webhooks.regenerate_secret(merchant, {"expire_previous_in": 0})
    assert svc.webhooks.config(merchant)["previous_secret_expires_at"] is None
    svc.webhooks.send_test(merchant)
    hand_off = receive_all(svc.settings.webhook_queue_url)
    handler("webhook_worker")(event_for(hand_off, svc.settings.webhook_queue_url), context())
    (delivery,) = receiver.deliveries
    assert Webhook(second["webhook_secret"]).verify(delivery.body, delivery.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(first).verify(delivery.body, delivery.headers)


def test_concurrent_regenerates_lose_no_secret_and_never_pass_the_cap():
    """Five rolls at once from one secret: at most four fit (five secrets sign at once); every
    roll that answered keeps its secret signing, each predecessor keeps its own expiry."""
    from paygate.db.webhook_endpoints import merchant_secrets
    from paygate.signing import MAX_SIGNING_SECRETS

    svc = services()
    merchant = new_merchant()
    original = merchant.webhook_secret
    results, errors = [], []

    def roll():
        try:
            results.append(svc.webhooks.regenerate_secret(merchant, None)["webhook_secret"])
        except Exception as exc:  # a lost race or the cap may answer 400, never corrupt
            errors.append(exc)

    threads = [threading.Thread(target=roll) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = svc.merchants.repo.get(merchant.id)
    assert stored.webhook_secret in results
    in_use = merchant_secrets(stored).in_use(time.time())
    assert set(in_use) == {original, *results} and len(in_use) == len(results) + 1
    assert len(in_use) <= MAX_SIGNING_SECRETS and len(results) + len(errors) == 5
    assert errors and all(e.code == "BAD_REQUEST_ERROR" for e in errors)


# ------------------------------------------------------------------ test-webhook rate limit
def test_test_webhooks_are_limited_per_merchant():
    """Every call counts, even one refused for a missing URL (merchants without a URL here,
    so the tier's outbox is not left with 60 undelivered test events)."""
    from paygate.errors import BadRequest

    svc = services()
    limited, other = new_merchant(), new_merchant()
    limiter = svc.webhooks.test_limiter
    window_left = 60 - int(time.time()) % 60
    if window_left < 15:
        time.sleep(window_left)  # all 61 calls in one fixed window
    for _ in range(60):
        with pytest.raises(BadRequest):
            svc.webhooks.send_test(limited)
    with pytest.raises(RateLimited) as refused:
        svc.webhooks.send_test(limited)
    assert 1 <= refused.value.retry_after <= 60
    with pytest.raises(BadRequest):  # another merchant is not limited
        svc.webhooks.send_test(other)
    assert limiter.limit == 60 and limiter.window_seconds == 60


def test_a_record_rolled_before_the_list_of_secrets_keeps_its_promise():
    """A merchant rolled by the older code (one previous secret in two attributes) keeps that
    secret signing until its expiry, through the next roll too, which stores the list only."""
    from paygate import security
    from paygate.db.models import MerchantModel
    from paygate.db.webhook_endpoints import merchant_secrets

    svc = services()
    merchant = new_merchant()
    older, expires = security.new_webhook_secret(), time.time() + 3600
    MerchantModel(id=merchant.id).update(
        actions=[
            MerchantModel.webhook_previous_secret.set(older),
            MerchantModel.webhook_previous_secret_expires_at.set(expires),
        ]
    )
    stored = svc.merchants.repo.get(merchant.id)
    assert merchant_secrets(stored).in_use(time.time()) == (merchant.webhook_secret, older)
    new = svc.webhooks.regenerate_secret(stored, {"expire_previous_in": 60})["webhook_secret"]
    stored = svc.merchants.repo.get(merchant.id)
    assert merchant_secrets(stored).in_use(time.time()) == (new, merchant.webhook_secret, older)
    assert stored.webhook_previous_secret is None
    assert stored.webhook_previous_secret_expires_at is None
    assert abs(stored.webhook_previous_secrets[1].expires_at - expires) < 1e-3
