"""Several webhook endpoints per merchant (CONTRACT §13) with moto's tables and queues, the real
webhook worker and real local receivers: fan-out with filters, a fan-out that crashes half-way,
the limit of 16 under a race, deletes while deliveries are queued, and the legacy URL as the
default endpoint."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from infra.local.webhook_receiver import Receiver
from paygate.db.counters import CounterRepository
from paygate.db.models import EventModel, WebhookEndpointModel, WebhookLogModel
from paygate.domain.webhook_endpoints import default_endpoint_id
from paygate.errors import BadRequest, NotFound
from paygate.services.webhooks import ENDPOINT_DELETED, ENDPOINT_DISABLED, log_id_for
from paygate.wiring import services
from tests.integration.helpers import (
    context,
    drain,
    event_for,
    handler,
    merchant_with_url,
    new_merchant,
    receive_all,
)

QUEUE = services().settings.webhook_queue_url


@pytest.fixture
def receivers():
    """Two local receivers answering 200."""
    running = [Receiver("unused").start(), Receiver("unused").start()]
    yield running
    for receiver in running:
        receiver.stop()


def add_endpoint(merchant, url, events=("*",), **extra) -> dict:
    body = {"url": url, "enabled_events": list(events), **extra}
    return services().webhook_endpoints.create(merchant, body)


def fresh(merchant):
    return services().merchants.repo.get(merchant.id)


def pay(merchant, vpa="success@bank", settle=True) -> dict:
    svc = services()
    merchant = fresh(merchant)
    order = svc.orders.create(merchant, {"amount": 1000})
    payment = svc.payments.create(merchant, {"order_id": order["id"], "method": "upi", "vpa": vpa})
    if settle:
        svc.payments.settle(payment["id"], 0)
    return payment


def pump(rounds: int = 30) -> list[str]:
    """Run the webhook worker on every visible message until the queue is empty; returns the
    records that failed (and were put back)."""
    worker = handler("webhook_worker")
    sqs = boto3.client("sqs")
    failures = []
    for _ in range(rounds):
        messages = receive_all(QUEUE)
        if not messages:
            return failures
        result = worker(event_for(messages, QUEUE), context())
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        failures += sorted(failed)
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m["MessageId"] not in failed
        ]
        if done:
            sqs.delete_message_batch(QueueUrl=QUEUE, Entries=done)
    raise AssertionError("the webhook queue never emptied")


def events_of(merchant) -> list[EventModel]:
    return [e for e in EventModel.scan() if e.merchant_id == merchant.id]


def logs_of(merchant) -> list[WebhookLogModel]:
    return [log for log in WebhookLogModel.scan() if log.merchant_id == merchant.id]


def names(receiver) -> list[str]:
    return sorted(d.event["event"] for d in receiver.deliveries)


# ------------------------------------------------------------------ fan-out and filters
def test_each_event_goes_to_every_endpoint_that_takes_it_signed_with_its_own_secret(receivers):
    every, success_only = receivers
    merchant = new_merchant()
    a = add_endpoint(merchant, every.url)
    b = add_endpoint(merchant, success_only.url, ["payment.success"], description="fulfilment")
    every.secret, success_only.secret = a["secret"], b["secret"]
    assert a["secret"] != b["secret"] and a["secret"].startswith("whsec_")
    payment = pay(merchant)
    assert pump() == []
    assert names(every) == ["order.paid", "payment.created", "payment.pending", "payment.success"]
    assert names(success_only) == ["payment.success"]
    for receiver in receivers:
        for delivery in receiver.deliveries:
            assert delivery.legacy_ok and delivery.standard_ok
            assert Webhook(receiver.secret).verify(delivery.body, delivery.headers)
            assert delivery.event["data"]["payment"]["id"] == payment["id"]
    with pytest.raises(WebhookVerificationError):  # another endpoint's secret: another key
        Webhook(b["secret"]).verify(every.deliveries[0].body, every.deliveries[0].headers)
    logs = logs_of(merchant)
    assert sorted((log.event, log.endpoint_id) for log in logs) == sorted(
        [
            ("order.paid", a["id"]),
            ("payment.created", a["id"]),
            ("payment.pending", a["id"]),
            ("payment.success", a["id"]),
            ("payment.success", b["id"]),
        ]
    )
    assert {(log.status, int(log.attempts)) for log in logs} == {("success", 1)}
    success = next(e for e in events_of(merchant) if e.event == "payment.success")
    assert success.dispatch_shard is None and sorted(success.dispatched_to) == sorted(
        [a["id"], b["id"]]
    )
    # The event browser's view: that event's deliveries, one per endpoint.
    page = services().webhooks.list_logs(merchant, {"event_id": success.id})
    assert page["total"] == 2
    assert {log["endpoint_id"] for log in page["data"]} == {a["id"], b["id"]}
    listed = services().webhooks.list_logs(merchant, None)
    assert listed["total"] == 5 and all("endpoint_id" in log for log in listed["data"])


def test_events_no_endpoint_takes_are_stored_but_never_dispatched(receivers):
    merchant = new_merchant()
    add_endpoint(merchant, receivers[0].url, ["refund.processed"])
    pay(merchant)
    assert pump() == []
    events = events_of(merchant)
    assert len(events) == 4 and all(e.dispatch_shard is None for e in events)  # + order.paid
    assert all(e.dispatched_to is None for e in events)  # never handed to the pipeline
    assert logs_of(merchant) == [] and receivers[0].deliveries == []


def test_a_merchant_whose_endpoints_are_all_deleted_gets_no_logs(receivers):
    merchant = new_merchant()
    made = add_endpoint(merchant, receivers[0].url)
    services().webhook_endpoints.delete(merchant, made["id"])
    assert fresh(merchant).webhook_subscriptions is None
    pay(merchant)
    assert pump() == [] and logs_of(merchant) == []


def test_the_legacy_url_is_the_default_endpoint_next_to_the_others(receivers):
    legacy, added = receivers
    merchant = merchant_with_url(legacy.url)
    legacy.secret = merchant.webhook_secret
    extra = add_endpoint(merchant, added.url, ["payment.failed"])
    listed = services().webhook_endpoints.list(merchant)
    default_id = default_endpoint_id(merchant.id)
    assert [e["id"] for e in listed["data"]] == [default_id, extra["id"]]
    default = listed["data"][0]
    assert default["is_default"] and default["url"] == legacy.url
    assert default["enabled_events"] == ["*"] and "secret" not in default
    pay(merchant, vpa="failure@bank")
    assert pump() == []
    assert names(legacy) == ["payment.created", "payment.failed", "payment.pending"]
    assert all(d.legacy_ok and d.standard_ok for d in legacy.deliveries)
    assert names(added) == ["payment.failed"]
    legacy_logs = [log for log in logs_of(merchant) if log.endpoint_id == default_id]
    # The default endpoint's logs keep the ids they always had (uuid5 of the event id).
    assert {log.id for log in legacy_logs} == {log_id_for(log.event_id) for log in legacy_logs}


def test_the_default_endpoint_can_filter_and_be_deleted_like_any(receivers):
    merchant = merchant_with_url(receivers[0].url)
    default_id = default_endpoint_id(merchant.id)
    endpoints = services().webhook_endpoints
    view = endpoints.update(merchant, default_id, {"enabled_events": ["payment.success"]})
    assert view["enabled_events"] == ["payment.success"] and view["is_default"]
    pay(merchant)
    assert pump() == []
    assert names(receivers[0]) == ["payment.success"]
    assert endpoints.delete(merchant, default_id) == {"id": default_id, "deleted": True}
    assert services().webhooks.config(merchant)["webhook_url"] is None
    # Set again through the legacy config: a fresh default endpoint, taking every event.
    services().webhooks.set_url(fresh(merchant), {"webhook_url": receivers[0].url})
    assert endpoints.get(merchant, default_id)["enabled_events"] == ["*"]


def test_a_test_delivery_goes_to_the_endpoint_it_names_only(receivers):
    merchant = merchant_with_url(receivers[0].url)
    other = add_endpoint(merchant, receivers[1].url, ["payment.success"])
    sent = services().webhooks.send_test(fresh(merchant), {"endpoint_id": other["id"]})
    assert sent["id"] == log_id_for(
        next(e.id for e in events_of(merchant) if e.event == "webhook.test"), other["id"]
    )
    assert pump() == []
    assert receivers[0].deliveries == [] and names(receivers[1]) == ["webhook.test"]
    assert WebhookLogModel.get(sent["id"]).status == "success"
    with pytest.raises(NotFound):
        services().webhooks.send_test(new_merchant(), {"endpoint_id": other["id"]})


# ------------------------------------------------------------------ crash mid fan-out
def _two_endpoint_event(receivers):
    merchant = new_merchant()
    a = add_endpoint(merchant, receivers[0].url)
    b = add_endpoint(merchant, receivers[1].url)
    pay(merchant, settle=False)
    messages = [m for m in receive_all(QUEUE) if "event_id" in json.loads(m["Body"])]
    created = next(
        m
        for m in messages
        if EventModel.get(json.loads(m["Body"])["event_id"]).event == "payment.created"
    )
    drain(QUEUE)
    return merchant, (a, b), created


def test_a_fan_out_that_dies_between_two_logs_neither_loses_nor_doubles_a_log(
    receivers, monkeypatch
):
    merchant, (a, b), message = _two_endpoint_event(receivers)
    event_id = json.loads(message["Body"])["event_id"]
    repo = services().delivery.repo
    real = repo.create_log
    written = []

    def dies_after_one(log, *args):
        if written:
            raise RuntimeError("worker killed between two logs")
        written.append(log.id)
        return real(log, *args)

    counts_before = CounterRepository().merchant_stats(merchant.id)["webhook_logs"]
    monkeypatch.setattr(repo, "create_log", dies_after_one)
    worker = handler("webhook_worker")
    failed = worker(event_for([message], QUEUE), context())
    assert failed["batchItemFailures"]  # the message goes back to the queue
    monkeypatch.undo()
    event = EventModel.get(event_id)
    assert event.dispatch_shard is not None  # still in the outbox: the relay would resend it
    assert len([log for log in logs_of(merchant) if log.event_id == event_id]) == 1
    assert receivers[0].deliveries == receivers[1].deliveries == []  # nothing sent half-way

    # The redelivery finishes the fan-out; a duplicate of it afterwards changes nothing.
    assert worker(event_for([message], QUEUE), context()) == {"batchItemFailures": []}
    assert pump() == []
    assert worker(event_for([message], QUEUE), context()) == {"batchItemFailures": []}
    assert pump() == []
    logs = [log for log in logs_of(merchant) if log.event_id == event_id]
    assert sorted(log.endpoint_id for log in logs) == sorted([a["id"], b["id"]])
    assert {(log.status, int(log.attempts)) for log in logs} == {("success", 1)}
    counts_after = CounterRepository().merchant_stats(merchant.id)["webhook_logs"]
    assert counts_after - counts_before == 2  # each log counted once
    for receiver in receivers:
        assert [d.event["id"] for d in receiver.deliveries] == [event_id]
    event = EventModel.get(event_id)
    assert event.dispatch_shard is None and sorted(event.dispatched_to) == sorted(
        [a["id"], b["id"]]
    )


def test_a_fan_out_left_half_done_is_finished_by_the_outbox_relay(receivers, monkeypatch):
    merchant, (a, b), message = _two_endpoint_event(receivers)
    event_id = json.loads(message["Body"])["event_id"]
    delivery = services().delivery
    real = delivery.repo.create_log
    calls = []

    def dies_after_one(log, *args):
        calls.append(log.id)
        if len(calls) > 1:
            raise RuntimeError("worker killed between two logs")
        return real(log, *args)

    monkeypatch.setattr(delivery.repo, "create_log", dies_after_one)
    with pytest.raises(RuntimeError):
        delivery.dispatch(event_id, time.time())
    monkeypatch.undo()
    # The message is lost for good: the relay finds the event still in the outbox.
    delivery.sweep(now=time.time() + 60)
    resent = [m for m in receive_all(QUEUE) if json.loads(m["Body"]).get("event_id") == event_id]
    assert len(resent) == 1
    drain(QUEUE)
    assert delivery.dispatch(event_id, time.time()) == "success"
    assert pump() == []
    logs = [log for log in logs_of(merchant) if log.event_id == event_id]
    assert len(logs) == 2 and {log.status for log in logs} == {"success"}
    assert [len(r.deliveries) for r in receivers] == [1, 1]


def test_a_fan_out_resumed_after_its_last_endpoint_was_deleted_still_leaves_the_outbox(
    receivers, monkeypatch
):
    """Run 1 dies after two of three logs; the third endpoint is deleted before the retry,
    whose last log then exists already: the event must still leave the outbox, once."""
    merchant, (a, b), message = _two_endpoint_event(receivers)
    c = add_endpoint(merchant, receivers[1].url)
    event_id = json.loads(message["Body"])["event_id"]
    delivery = services().delivery
    real = delivery.repo.create_log
    calls = []

    def dies_at_the_third(log, *args):
        calls.append(log.id)
        if len(calls) == 3:
            raise RuntimeError("worker killed before the last log")
        return real(log, *args)

    monkeypatch.setattr(delivery.repo, "create_log", dies_at_the_third)
    with pytest.raises(RuntimeError):
        delivery.dispatch(event_id, time.time())
    monkeypatch.undo()
    services().webhook_endpoints.delete(merchant, c["id"])
    assert delivery.dispatch(event_id, time.time()) in ("success", "retry")
    assert pump() == []
    event = EventModel.get(event_id)
    assert event.dispatch_shard is None and sorted(event.dispatched_to) == sorted(
        [a["id"], b["id"]]
    )
    logs = [log for log in logs_of(merchant) if log.event_id == event_id]
    assert sorted(log.endpoint_id for log in logs) == sorted([a["id"], b["id"]])
    sent = [len(r.deliveries) for r in receivers]
    assert sent == [1, 1]
    # A later copy of the message: first attempts already done, nothing is sent again.
    assert delivery.dispatch(event_id, time.time()) in ("duplicate", "stale")
    assert pump() == [] and [len(r.deliveries) for r in receivers] == sent


def test_a_crash_after_the_fan_out_before_the_first_attempts_still_attempts_each_once(
    receivers, monkeypatch
):
    merchant, _, message = _two_endpoint_event(receivers)
    delivery = services().delivery
    monkeypatch.setattr(delivery.queue, "send_batch", lambda *a, **k: 1 / 0)
    worker = handler("webhook_worker")
    assert worker(event_for([message], QUEUE), context())["batchItemFailures"]
    monkeypatch.undo()
    assert [len(r.deliveries) for r in receivers] == [0, 0]
    assert worker(event_for([message], QUEUE), context()) == {"batchItemFailures": []}
    assert pump() == []
    assert [len(r.deliveries) for r in receivers] == [1, 1]


def test_two_deliveries_of_one_event_at_once_make_one_log_and_one_post_per_endpoint(
    receivers,
):
    merchant, _, message = _two_endpoint_event(receivers)
    event_id = json.loads(message["Body"])["event_id"]
    delivery = services().delivery
    outcomes = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(delivery.dispatch(event_id, time.time())))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pump() == []
    assert "success" in outcomes and outcomes.count("duplicate") >= 2, outcomes
    logs = [log for log in logs_of(merchant) if log.event_id == event_id]
    assert len(logs) == 2 and {(log.status, int(log.attempts)) for log in logs} == {("success", 1)}
    # A late duplicate may repeat a POST (same webhook-id, which receivers dedupe on), never
    # a log or a counted attempt.
    for receiver in receivers:
        assert receiver.deliveries and {d.headers["webhook-id"] for d in receiver.deliveries} == {
            event_id
        }


# ------------------------------------------------------------------ the limit
def test_at_most_sixteen_endpoints_the_default_one_included(receivers):
    merchant = merchant_with_url(receivers[0].url)
    for _ in range(15):
        add_endpoint(merchant, receivers[1].url)
    with pytest.raises(BadRequest, match="at most 16"):
        add_endpoint(merchant, receivers[1].url)
    assert services().webhook_endpoints.list(merchant)["total"] == 16
    # Without the default endpoint there is room for one more, and then none for a URL.
    services().webhooks.set_url(fresh(merchant), {"webhook_url": None})
    add_endpoint(merchant, receivers[1].url)
    with pytest.raises(BadRequest, match="at most 16"):
        services().webhooks.set_url(fresh(merchant), {"webhook_url": receivers[0].url})
    assert fresh(merchant).webhook_url is None


def test_concurrent_creates_never_pass_the_limit(receivers):
    merchant = new_merchant()
    made, refused, other = [], [], []

    def create():
        try:
            made.append(add_endpoint(merchant, receivers[0].url)["id"])
        except BadRequest as exc:
            (refused if "at most 16" in exc.description else other).append(exc.description)

    threads = [threading.Thread(target=create) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other == []
    assert len(made) == 16 and len(refused) == 8
    rows = list(WebhookEndpointModel.query(merchant.id))
    assert sorted(r.id for r in rows) == sorted(made)
    stored = fresh(merchant)
    assert int(stored.webhook_endpoint_count) == 16
    assert stored.webhook_subscriptions == {"*"}


def test_creates_racing_deletes_and_changes_keep_the_count_and_the_summary_exact(receivers):
    """The merchant record's count and summary of subscribed events (read when an event is
    raised) always match the endpoints stored, whatever runs at once."""
    merchant = new_merchant()
    endpoints = services().webhook_endpoints
    doomed = [add_endpoint(merchant, receivers[0].url, ["refund.created"]) for _ in range(4)]
    kept = add_endpoint(merchant, receivers[0].url, ["payment.failed"])
    names = ["payment.created", "payment.success", "refund.processed", "webhook.test"]
    work = [lambda e=e: endpoints.delete(merchant, e["id"]) for e in doomed]
    work += [lambda n=n: add_endpoint(merchant, receivers[0].url, [n]) for n in names]
    work.append(
        lambda: endpoints.update(merchant, kept["id"], {"enabled_events": ["payment.pending"]})
    )
    errors = []

    def run(job):
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = list(WebhookEndpointModel.query(merchant.id, consistent_read=True))
    stored = fresh(merchant)
    assert int(stored.webhook_endpoint_count) == len(rows) == 5
    assert stored.webhook_subscriptions == {e for row in rows for e in row.enabled_events}
    assert stored.webhook_subscriptions == set(names) | {"payment.pending"}


def test_a_new_webhook_url_racing_a_create_for_the_last_place_lets_one_in(receivers):
    merchant = new_merchant()
    for _ in range(15):
        add_endpoint(merchant, receivers[0].url)
    outcomes = []

    def create():
        try:
            outcomes.append(("endpoint", add_endpoint(merchant, receivers[1].url)["id"]))
        except BadRequest as exc:
            outcomes.append(("endpoint refused", exc.description))

    def set_url():
        try:
            services().webhooks.set_url(merchant, {"webhook_url": receivers[1].url})
            outcomes.append(("url", None))
        except BadRequest as exc:
            outcomes.append(("url refused", exc.description))

    threads = [threading.Thread(target=f) for f in (create, set_url, create, set_url)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [kind for kind, _ in outcomes if "refused" not in kind]
    assert len(won) in (1, 2) and len(set(won)) == 1, outcomes  # one kind wins the place
    stored = fresh(merchant)
    total = int(stored.webhook_endpoint_count) + bool(stored.webhook_url)
    assert total == 16
    assert all("at most 16" in text for kind, text in outcomes if "refused" in kind)


# ------------------------------------------------------------------ deletes and disables
def test_deleting_an_endpoint_ends_its_queued_deliveries_without_sending(receivers):
    failing = receivers[0]
    failing.status = 500
    merchant = new_merchant()
    gone = add_endpoint(merchant, failing.url)
    kept = add_endpoint(merchant, receivers[1].url)
    log_id = services().webhooks.send_test(fresh(merchant), {"endpoint_id": gone["id"]})["id"]
    assert pump() == []
    log = WebhookLogModel.get(log_id)
    assert (log.status, int(log.attempts)) == ("pending", 1)  # attempt 2 queued in 5 s
    services().webhook_endpoints.delete(merchant, gone["id"])
    assert services().webhook_endpoints.list(merchant)["data"][0]["id"] == kept["id"]
    log.update(actions=[WebhookLogModel.next_retry_epoch.set(0)])
    assert services().delivery.attempt(log_id, 2, 0) == "ended"
    log = WebhookLogModel.get(log_id)
    assert (log.status, int(log.attempts), log.response_body) == ("failed", 1, ENDPOINT_DELETED)
    assert log.retry_shard is None and log.next_retry_at is None  # out of the relay's view
    assert len(failing.deliveries) == 1  # nothing sent to the deleted endpoint
    with pytest.raises(BadRequest, match="deleted"):
        services().webhooks.retry(merchant, log_id)
    with pytest.raises(NotFound):
        services().webhook_endpoints.get(merchant, gone["id"])


def test_a_disabled_endpoint_is_sent_nothing_and_its_missed_events_are_replayed(receivers):
    paused, live = receivers
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, paused.url)
    add_endpoint(merchant, live.url)
    endpoints = services().webhook_endpoints
    view = endpoints.update(merchant, endpoint["id"], {"status": "disabled"})
    assert (view["status"], view["disabled_reason"]) == ("disabled", "manual")
    assert "replay" not in view
    pay(merchant)
    assert pump() == []
    assert paused.deliveries == [] and len(live.deliveries) == 4
    missed = [log for log in logs_of(merchant) if log.endpoint_id == endpoint["id"]]
    assert len(missed) == 4
    assert {(log.status, int(log.attempts), log.response_body) for log in missed} == {
        ("failed", 0, ENDPOINT_DISABLED)
    }
    with pytest.raises(BadRequest, match="disabled"):
        services().webhooks.retry(merchant, missed[0].id)
    enabled = endpoints.update(merchant, endpoint["id"], {"status": "enabled"})
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None
    replay = enabled["replay"]
    assert replay["path"] == "/api/v1/webhooks/replay"
    assert replay["body"]["endpoint_id"] == endpoint["id"]
    assert services().webhooks.replay(merchant, replay["body"]) == {"replayed": 4}
    assert pump() == []
    assert names(paused) == ["order.paid", "payment.created", "payment.pending", "payment.success"]
    assert {log.status for log in logs_of(merchant)} == {"success"}
    assert len(live.deliveries) == 4  # the other endpoint got nothing twice
    # A second replay of the same range finds nothing failed any more.
    assert services().webhooks.replay(merchant, replay["body"]) == {"replayed": 0}


# ------------------------------------------------------------------ bad input changes nothing
def _strict_endpoints():
    """The endpoints service with production's URL policy (no private targets)."""
    from dataclasses import replace

    from paygate.services.webhook_endpoints import WebhookEndpointService

    svc = services().webhook_endpoints
    strict = replace(services().settings, webhook_allow_private_targets=False)
    return WebhookEndpointService(svc.directory, svc.repo, svc.merchants, strict)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"enabled_events": ["*"]}, "url is required"),
        ({"url": "", "enabled_events": ["*"]}, "url is required"),
        ({"url": "ftp://example.com/x", "enabled_events": ["*"]}, "http"),
        ({"url": "http://user@example.com/x", "enabled_events": ["*"]}, ""),
        ({"url": "https://example.com/" + "a" * 3000, "enabled_events": ["*"]}, ""),
        ({"url": "https://example.com/x"}, "enabled_events is required"),
        ({"url": "https://example.com/x", "enabled_events": []}, "non-empty"),
        ({"url": "https://example.com/x", "enabled_events": "*"}, "non-empty"),
        ({"url": "https://example.com/x", "enabled_events": ["payment.refunded"]}, "Unknown"),
        (
            {"url": "https://example.com/x", "enabled_events": [7]},
            "holds a number where an event name",
        ),
        ({"url": "https://example.com/x", "enabled_events": ["*", "payment.success"]}, "alone"),
        (
            {"url": "https://example.com/x", "enabled_events": ["webhook_endpoint.disabled"]},
            "Unknown",
        ),
        (
            {"url": "https://example.com/x", "enabled_events": ["payment.success"] * 10_000},
            "non-empty list",
        ),
        (
            {"url": "https://example.com/x", "enabled_events": ["*"], "description": "d" * 501},
            "500",
        ),
        ({"url": "https://example.com/x", "enabled_events": ["*"], "description": 5}, "500"),
        (["https://example.com/x"], "JSON object"),
    ],
)
def test_bad_endpoints_are_refused_and_nothing_is_stored(body, message):
    merchant = new_merchant()
    with pytest.raises(BadRequest, match=message or None):
        services().webhook_endpoints.create(merchant, body)
    assert list(WebhookEndpointModel.query(merchant.id)) == []
    assert fresh(merchant).webhook_endpoints_version is None  # the lock never moved


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.8/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://localhost:9000/x",
        "http://2130706433/x",
        "http://127.0.0.1:18999\\@example.com/",
    ],
)
def test_internal_urls_are_refused_for_endpoints_as_for_the_legacy_url(url):
    merchant = new_merchant()
    strict = _strict_endpoints()
    with pytest.raises(BadRequest):
        strict.create(merchant, {"url": url, "enabled_events": ["*"]})
    ok = strict.create(merchant, {"url": "https://93.184.215.14/hook", "enabled_events": ["*"]})
    with pytest.raises(BadRequest):
        strict.update(merchant, ok["id"], {"url": url})
    assert strict.get(merchant, ok["id"])["url"] == "https://93.184.215.14/hook"


def test_updates_check_each_field_and_change_only_what_they_name(receivers):
    merchant = new_merchant()
    made = add_endpoint(merchant, receivers[0].url, ["payment.success"], description="orders")
    endpoints = services().webhook_endpoints
    for body, message in (
        ({}, "Nothing to update"),
        ({"status": "paused"}, "enabled or disabled"),
        ({"enabled_events": ["nope"]}, "Unknown"),
        ({"description": "x" * 501}, "500"),
        ({"url": None}, "url is required"),
        ("text", "JSON object"),
    ):
        with pytest.raises(BadRequest, match=message):
            endpoints.update(merchant, made["id"], body)
    changed = endpoints.update(merchant, made["id"], {"enabled_events": ["refund.created"]})
    assert changed["enabled_events"] == ["refund.created"]
    assert (changed["url"], changed["description"]) == (receivers[0].url, "orders")
    assert "secret" not in changed
    assert fresh(merchant).webhook_subscriptions == {"refund.created"}
    cleared = endpoints.update(merchant, made["id"], {"description": None})
    assert cleared["description"] is None


def test_every_endpoint_id_of_another_merchant_is_not_found(receivers):
    owner, intruder = new_merchant(), merchant_with_url(receivers[1].url)
    made = add_endpoint(owner, receivers[0].url)
    endpoints = services().webhook_endpoints
    for endpoint_id in (
        made["id"],
        default_endpoint_id(owner.id),
        "we_0000000000000000",
        "not-an-id",
        "",
    ):
        with pytest.raises(NotFound):
            endpoints.get(intruder, endpoint_id)
        with pytest.raises(NotFound):
            endpoints.update(intruder, endpoint_id, {"description": "mine now"})
        with pytest.raises(NotFound):
            endpoints.roll_secret(intruder, endpoint_id, None)
        with pytest.raises(NotFound):
            endpoints.delete(intruder, endpoint_id)
        with pytest.raises(NotFound):
            services().webhooks.send_test(intruder, {"endpoint_id": endpoint_id})
    assert endpoints.get(owner, made["id"])["description"] is None
    assert [e["id"] for e in endpoints.list(intruder)["data"]] == [default_endpoint_id(intruder.id)]


def test_rolling_an_endpoint_secret_keeps_the_previous_one_signing_during_the_overlap(receivers):
    receiver = receivers[0]
    merchant = new_merchant()
    made = add_endpoint(merchant, receiver.url)
    old = made["secret"]
    rolled = services().webhook_endpoints.roll_secret(
        merchant, made["id"], {"expire_previous_in": 3600}
    )
    new = rolled["secret"]
    assert new != old and new.startswith("whsec_") and rolled["previous_secret_expires_at"]
    assert "secret" not in services().webhook_endpoints.get(merchant, made["id"])
    services().webhooks.send_test(fresh(merchant), {"endpoint_id": made["id"]})
    assert pump() == []
    (delivery,) = receiver.deliveries
    assert len(delivery.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(delivery.body, delivery.headers)
    again = services().webhook_endpoints.roll_secret(
        merchant, made["id"], {"expire_previous_in": 0}
    )
    assert again["previous_secret_expires_at"] is None
    for body in ({"expire_previous_in": -1}, {"expire_previous_in": 604801}, []):
        with pytest.raises(BadRequest):
            services().webhook_endpoints.roll_secret(merchant, made["id"], body)


def test_raising_an_event_reads_no_endpoint_and_no_more_merchants_than_before(
    receivers, monkeypatch
):
    """Whether an event is dispatched is decided from the merchant the API already holds (and
    the workers' cached copy): endpoints are only read by the webhook worker's fan-out."""
    from paygate.db.merchants import MerchantRepository
    from paygate.db.webhook_endpoints import WebhookEndpointRepository

    merchant = new_merchant()
    add_endpoint(merchant, receivers[0].url, ["payment.success"])
    known = fresh(merchant)  # what authentication hands the API (a cached copy)
    svc = services()
    svc.merchants.repo.get(merchant.id)  # the worker's cached copy, as after a first event
    reads = {"endpoints": 0, "merchants": 0}
    real_rows, real_get = WebhookEndpointRepository.rows, MerchantRepository.get

    def rows(self, *args, **kwargs):
        reads["endpoints"] += 1
        return real_rows(self, *args, **kwargs)

    def get(self, merchant_id, max_age=0):
        if not self._fresh(f"id:{merchant_id}", max_age):
            reads["merchants"] += 1
        return real_get(self, merchant_id, max_age)

    monkeypatch.setattr(WebhookEndpointRepository, "rows", rows)
    monkeypatch.setattr(MerchantRepository, "get", get)
    order = svc.orders.create(known, {"amount": 1000})
    payment = svc.payments.create(known, {"order_id": order["id"], "method": "upi", "vpa": "x@y"})
    svc.payments.settle(payment["id"], 0)
    assert reads == {"endpoints": 0, "merchants": 0}
    monkeypatch.undo()
    assert sorted((e.event, e.dispatch_shard is not None) for e in events_of(merchant)) == [
        ("order.paid", False),
        ("payment.created", False),
        ("payment.pending", False),
        ("payment.success", True),  # the only one an endpoint takes
    ]
