"""Endpoint health and bulk replay (CONTRACT §13) with moto and real receivers: a failing streak,
automatic disabling with its `webhook_endpoint.disabled` notice, re-enabling with a replay of
what was missed, and the replay's bounds."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from infra.local.webhook_receiver import Receiver
from paygate.db.models import EventModel, MerchantModel, WebhookEndpointModel, WebhookLogModel
from paygate.domain.webhook_endpoints import default_endpoint_id
from paygate.errors import BadRequest, NotFound
from paygate.services import webhooks as webhooks_module
from paygate.services.webhook_endpoints import EndpointHealth
from paygate.services.webhooks import ENDPOINT_DISABLED, WebhookDelivery
from paygate.wiring import services
from tests.integration.helpers import drain, merchant_with_url, new_merchant, receive_all
from tests.integration.test_webhook_endpoints import (
    QUEUE,
    add_endpoint,
    fresh,
    logs_of,
    pay,
    pump,
)

THREE_DAYS = 3 * 24 * 3600


@pytest.fixture
def receiver():
    running = Receiver("unused").start()
    yield running
    running.stop()


def row(merchant, endpoint_id) -> WebhookEndpointModel:
    return WebhookEndpointModel.get(merchant.id, endpoint_id, consistent_read=True)


def send_test_to(merchant, endpoint_id) -> str:
    """Send a test event to the endpoint and run the worker; returns its log id."""
    log_id = services().webhooks.send_test(fresh(merchant), {"endpoint_id": endpoint_id})["id"]
    assert pump() == []
    return log_id


def streak_began(merchant, endpoint_id, seconds_ago: float) -> None:
    """Pretend the endpoint's failing streak began `seconds_ago` (time passing, no waiting)."""
    WebhookEndpointModel(merchant_id=merchant.id, id=endpoint_id).update(
        actions=[WebhookEndpointModel.failing_since.set(time.time() - seconds_ago)]
    )


def test_any_success_ends_the_failing_streak(receiver):
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, receiver.url)
    receiver.status = 500
    send_test_to(merchant, endpoint["id"])
    started = row(merchant, endpoint["id"]).failing_since
    assert started is not None and time.time() - started < 30
    send_test_to(merchant, endpoint["id"])
    assert row(merchant, endpoint["id"]).failing_since == started  # the streak goes on
    receiver.status = 200
    send_test_to(merchant, endpoint["id"])
    assert row(merchant, endpoint["id"]).failing_since is None
    view = services().webhook_endpoints.get(merchant, endpoint["id"])
    assert view["status"] == "enabled" and view["failing_since"] is None


def test_an_endpoint_failing_for_three_days_is_disabled_with_a_notice(receiver):
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, receiver.url)
    receiver.status = 503
    send_test_to(merchant, endpoint["id"])
    streak_began(merchant, endpoint["id"], THREE_DAYS - 60)
    send_test_to(merchant, endpoint["id"])
    assert row(merchant, endpoint["id"]).status == "enabled"  # 3 days minus a minute: not yet
    streak_began(merchant, endpoint["id"], THREE_DAYS + 1)
    since = row(merchant, endpoint["id"]).failing_since
    send_test_to(merchant, endpoint["id"])
    view = services().webhook_endpoints.get(merchant, endpoint["id"])
    assert (view["status"], view["disabled_reason"]) == ("disabled", "failing")
    assert view["disabled_at"] and view["failing_since"]
    notices = services().events.list(merchant, {"type": "webhook_endpoint.disabled"})["data"]
    assert len(notices) == 1
    notice = notices[0]["data"]["webhook_endpoint"]
    assert (notice["id"], notice["status"], notice["disabled_reason"]) == (
        endpoint["id"],
        "disabled",
        "failing",
    )
    assert "secret" not in notice
    # Nothing is sent any more; each event it takes still gets its (failed) log.
    sent = len(receiver.deliveries)
    pay(merchant)
    assert pump() == []
    assert len(receiver.deliveries) == sent
    missed = [log for log in logs_of(merchant) if log.event.startswith("payment.")]
    assert len(missed) == 3 and {log.response_body for log in missed} == {ENDPOINT_DISABLED}

    # Enabling it again offers the replay of the streak and the disabled period.
    receiver.status = 200
    enabled = services().webhook_endpoints.update(merchant, endpoint["id"], {"status": "enabled"})
    assert enabled["status"] == "enabled" and enabled["failing_since"] is None
    body = enabled["replay"]["body"]
    assert body["created_gte"] <= webhooks_module._iso_at(since)
    failed = [log.id for log in logs_of(merchant) if log.status == "failed"]
    assert services().webhooks.replay(merchant, body) == {"replayed": len(failed)}
    assert pump() == []
    assert {WebhookLogModel.get(log_id).status for log_id in failed} == {"success"}
    replayed = sorted(d.event["event"] for d in receiver.deliveries[sent:])
    assert [n for n in replayed if n.startswith("payment.")] == [
        "payment.created",
        "payment.pending",
        "payment.success",
    ]


def test_the_disable_delay_is_a_setting_short_in_tests(receiver):
    """WEBHOOK_ENDPOINT_DISABLE_AFTER_SECONDS, here 1 s, with real time passing."""
    svc = services()
    quick = replace(svc.settings, webhook_endpoint_disable_after_seconds=1)
    delivery = WebhookDelivery(
        svc.delivery.repo,
        svc.delivery.merchants,
        svc.delivery.queue,
        quick,
        directory=svc.delivery.directory,
        health=EndpointHealth(svc.delivery.health.repo, quick),
    )
    merchant = merchant_with_url(receiver.url)
    receiver.status = 500
    default_id = default_endpoint_id(merchant.id)
    for pause in (0, 1.2):
        time.sleep(pause)
        log_id = svc.webhooks.send_test(fresh(merchant))["id"]
        # (Other tests' delayed retries may surface meanwhile: only this event's hand-off.)
        (message,) = [
            json.loads(m["Body"])
            for m in receive_all(QUEUE)
            if json.loads(m["Body"]).get("event_id")
            and EventModel.get(json.loads(m["Body"])["event_id"]).merchant_id == merchant.id
        ]
        drain(QUEUE)
        delivery.handle(message, time.time())
        assert WebhookLogModel.get(log_id).response_code == 500
    stored = MerchantModel.get(merchant.id)
    assert (stored.webhook_status, stored.webhook_disabled_reason) == ("disabled", "failing")
    view = svc.webhook_endpoints.get(merchant, default_id)
    assert view["is_default"] and view["status"] == "disabled"
    with pytest.raises(BadRequest, match="disabled"):
        svc.webhooks.send_test(fresh(merchant))
    # The legacy configuration is untouched: the URL is still there.
    assert svc.webhooks.config(merchant)["webhook_url"] == receiver.url


# ------------------------------------------------------------------ bulk replay
def _failed_logs(merchant, endpoint_id, count: int) -> None:
    """`count` failed deliveries of the endpoint (tests sent while it is disabled)."""
    endpoints = services().webhook_endpoints
    endpoints.update(merchant, endpoint_id, {"status": "disabled"})
    for _ in range(count):
        pay(merchant, settle=False)
    assert pump() == []
    endpoints.update(merchant, endpoint_id, {"status": "enabled"})


def _range(minutes: int = 10) -> dict:
    now = time.time()
    return {
        "status": "failed",
        "created_gte": webhooks_module._iso_at(now - minutes * 60),
        "created_lt": webhooks_module._iso_at(now + 60),
    }


def test_replay_retries_failed_deliveries_of_a_range_through_the_index(receiver, monkeypatch):
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, receiver.url, ["payment.created"])
    other = add_endpoint(merchant, receiver.url, ["payment.pending"])
    _failed_logs(merchant, endpoint["id"], 3)
    _failed_logs(merchant, other["id"], 2)
    # Never a scan: a replay reads the sparse index of failed logs, one endpoint at a time.
    monkeypatch.setattr(WebhookLogModel, "scan", classmethod(lambda *a, **k: 1 / 0))
    only = services().webhooks.replay(merchant, {**_range(), "endpoint_id": endpoint["id"]})
    assert only == {"replayed": 3}
    monkeypatch.undo()
    assert pump() == []
    # Each endpoint missed the payments made while it alone was disabled.
    statuses = sorted((log.endpoint_id, log.status) for log in logs_of(merchant))
    assert statuses == sorted(
        [(endpoint["id"], "success")] * 5
        + [(other["id"], "success")] * 3
        + [(other["id"], "failed")] * 2
    )
    # An empty range replays nothing; the whole range, every enabled endpoint's.
    empty = {**_range(), "created_lt": _range()["created_gte"]}
    empty["created_gte"] = webhooks_module._iso_at(time.time() - 86400)
    assert services().webhooks.replay(merchant, empty) == {"replayed": 0}
    assert services().webhooks.replay(merchant, _range()) == {"replayed": 2}
    assert pump() == []
    assert {log.status for log in logs_of(merchant)} == {"success"}
    assert len(receiver.deliveries) == 10  # each of the 10 logs delivered once


def test_replay_is_bounded_and_refuses_beyond_changing_nothing(receiver, monkeypatch):
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, receiver.url, ["payment.created"])
    _failed_logs(merchant, endpoint["id"], 4)
    monkeypatch.setattr(webhooks_module, "MAX_REPLAY", 3)
    with pytest.raises(BadRequest, match="More than 3 failed deliveries"):
        services().webhooks.replay(merchant, _range())
    assert {log.status for log in logs_of(merchant)} == {"failed"}
    assert pump() == [] and receiver.deliveries == []
    monkeypatch.undo()
    # One clock read for every body: an empty range is [t, t) only if both ends are the same t
    # (two reads a millisecond apart make a valid 1 ms range, which replays nothing, no 400).
    valid = _range()
    for body, message in (
        ({**valid, "status": "success"}, "status"),
        ({k: v for k, v in valid.items() if k != "status"}, "status"),
        ({k: v for k, v in valid.items() if k != "created_lt"}, "created_lt is required"),
        ({**valid, "created_gte": "yesterday"}, "created_gte"),
        ({**valid, "created_lt": valid["created_gte"]}, "before"),
        ({**valid, "created_gte": "2020-01-01T00:00:00Z"}, "31 days"),
        ({**valid, "endpoint_id": 7}, "endpoint_id"),
        ([], "JSON object"),
    ):
        with pytest.raises(BadRequest, match=message):
            services().webhooks.replay(merchant, body)
    # Another merchant's endpoint, or one that does not exist: not found, alike.
    for endpoint_id in (endpoint["id"], "we_0000000000000000", default_endpoint_id(merchant.id)):
        with pytest.raises(NotFound):
            services().webhooks.replay(new_merchant(), {**_range(), "endpoint_id": endpoint_id})
    assert {log.status for log in logs_of(merchant)} == {"failed"}
    # Unix seconds work too, as in the events API.
    now = int(time.time())
    body = {"status": "failed", "created_gte": now - 600, "created_lt": now + 60}
    assert services().webhooks.replay(merchant, body) == {"replayed": 4}


def test_replay_of_a_disabled_endpoint_is_refused(receiver):
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, receiver.url)
    services().webhook_endpoints.update(merchant, endpoint["id"], {"status": "disabled"})
    with pytest.raises(BadRequest, match="disabled"):
        services().webhooks.replay(merchant, {**_range(), "endpoint_id": endpoint["id"]})


def test_the_replay_offered_on_re_enable_covers_deliveries_created_before_the_first_failure(
    receiver, monkeypatch
):
    """b08: the logs that start a failing streak are created a few ms before their first failed
    attempt; the replay offered on re-enable must still include them (real time, a 1 s
    disable delay)."""
    svc = services()
    quick = replace(svc.settings, webhook_endpoint_disable_after_seconds=1)
    monkeypatch.setattr(svc.delivery.health, "settings", quick)
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, receiver.url, ["payment.created", "payment.pending"])
    receiver.status = 503
    pay(merchant, settle=False)  # two logs, created before their first (failed) attempt
    assert pump() == []
    started = row(merchant, endpoint["id"]).failing_since
    first = [log for log in logs_of(merchant)]
    assert len(first) == 2 and all(log.attempts == 1 for log in first)
    assert all(log.created_at < webhooks_module._iso_at(started) for log in first)
    time.sleep(1.2)
    pay(merchant, settle=False)  # fails again after 1 s: the endpoint is disabled
    assert pump() == []
    assert row(merchant, endpoint["id"]).status == "disabled"
    # The first logs' next attempts find the endpoint disabled: they end failed.
    deadline = time.time() + 20
    while time.time() < deadline and any(log.status != "failed" for log in logs_of(merchant)):
        pump()
        time.sleep(0.5)
    failed = sorted(log.id for log in logs_of(merchant))
    assert {log.status for log in logs_of(merchant)} == {"failed"} and len(failed) == 4

    receiver.status = 200
    enabled = svc.webhook_endpoints.update(merchant, endpoint["id"], {"status": "enabled"})
    body = enabled["replay"]["body"]
    for log in logs_of(merchant):
        assert body["created_gte"] <= log.created_at < body["created_lt"], log.event
    assert svc.webhooks.replay(merchant, body) == {"replayed": 4}
    assert pump() == []
    assert {WebhookLogModel.get(log_id).status for log_id in failed} == {"success"}


def test_an_older_delivery_failing_during_the_streak_moves_the_replay_start_back(receiver):
    """A retry of a delivery created before the streak (its first attempts failed in an
    earlier streak) fails during this one: the replay offered on re-enable includes it."""
    svc = services()
    merchant = new_merchant()
    endpoint = add_endpoint(merchant, receiver.url)
    health = svc.delivery.health
    now = time.time()
    newer, older = webhooks_module._iso_at(now - 1), webhooks_module._iso_at(now - 3600)
    assert health.observe(
        svc.delivery.directory.find(merchant.id, endpoint["id"]), False, now, newer
    )
    health.observe(svc.delivery.directory.find(merchant.id, endpoint["id"]), False, now, older)
    health.observe(svc.delivery.directory.find(merchant.id, endpoint["id"]), False, now, newer)
    assert row(merchant, endpoint["id"]).missed_since == older
    svc.webhook_endpoints.update(merchant, endpoint["id"], {"status": "disabled"})
    enabled = svc.webhook_endpoints.update(merchant, endpoint["id"], {"status": "enabled"})
    assert enabled["replay"]["body"]["created_gte"] == older
    assert row(merchant, endpoint["id"]).missed_since is None  # a new start after re-enabling
