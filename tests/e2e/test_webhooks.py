"""Webhooks end to end: signed deliveries, the retry schedule, manual retry, configuration."""

from __future__ import annotations

import time

import pytest
import requests

from infra.local.webhook_receiver import Receiver
from tests.e2e.test_foundation import headers_of, signup


@pytest.fixture
def receiver():
    running = Receiver("pending").start()
    yield running
    running.stop()


@pytest.fixture
def account(stack, receiver):
    """A fresh merchant whose webhooks go to the receiver."""
    created = signup(stack)
    headers = headers_of(created)
    saved = requests.put(
        stack.api + "/api/v1/webhooks/config",
        headers=headers,
        timeout=5,
        json={"webhook_url": receiver.url},
    )
    assert saved.status_code == 200 and saved.json()["webhook_url"] == receiver.url
    receiver.secret = saved.json()["webhook_secret"]
    return headers


def wait_for(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def logs(stack, headers, query=""):
    response = requests.get(f"{stack.api}/api/v1/webhooks{query}", headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_payment_events_arrive_signed_and_in_order(stack, account, receiver):
    order = requests.post(
        stack.api + "/api/v1/orders", json={"amount": 1500}, headers=account, timeout=5
    ).json()
    requests.post(
        stack.api + "/api/v1/payments",
        headers=account,
        timeout=5,
        json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
    )
    expected = {"payment.created", "payment.pending", "payment.success", "order.paid"}
    names = wait_for(
        lambda: {d.event["event"] for d in receiver.deliveries} >= expected,
        timeout=5,
    )
    assert names
    for delivery in receiver.deliveries:
        assert delivery.legacy_ok and delivery.standard_ok, delivery.headers
        assert delivery.headers["webhook-id"] == delivery.event["id"]
        assert b": " not in delivery.body and b", " not in delivery.body  # compact JSON
        assert delivery.event["data"]["payment"]["order_id"] == order["id"]
    paid = next(d.event for d in receiver.deliveries if d.event["event"] == "order.paid")
    assert paid["data"]["order"]["id"] == order["id"]
    assert paid["data"]["order"]["status"] == "paid"
    # Each log turns `success` once its delivery's answer is recorded, just after the POST.
    page = wait_for(
        lambda: (
            (page := logs(stack, account))["total"] == 4
            and {log["status"] for log in page["data"]} == {"success"}
            and page
        ),
        timeout=5,
    )
    assert page and {log["event"] for log in page["data"]} == expected


def test_retry_schedule_end_to_end_then_manual_retry(stack, account, receiver):
    receiver.status = 500
    sent = requests.post(stack.api + "/api/v1/webhooks/test", headers=account, timeout=5)
    assert sent.status_code == 202 and sent.json()["status"] == "pending"
    log_id = sent.json()["id"]
    assert wait_for(lambda: len(receiver.deliveries) >= 5, timeout=60, interval=0.2)
    times = [d.at for d in receiver.deliveries]
    gaps = [round(b - a, 2) for a, b in zip(times, times[1:], strict=False)]
    for gap, expected in zip(gaps, (5, 10, 15, 20), strict=True):
        assert abs(gap - expected) <= 1, gaps
    log = wait_for(
        lambda: next(
            (
                entry
                for entry in logs(stack, account)["data"]
                if entry["id"] == log_id and entry["status"] == "failed"
            ),
            None,
        ),
        timeout=3,
    )
    assert log and log["attempts"] == 5 and log["response_code"] == 500
    assert log["next_retry_at"] is None
    time.sleep(1.5)
    assert len(receiver.deliveries) == 5  # nothing after the fifth failure
    receiver.status = 200
    retried = requests.post(
        f"{stack.api}/api/v1/webhooks/{log_id}/retry", headers=account, timeout=5
    )
    assert retried.json() == {
        "id": log_id,
        "status": "pending",
        "message": "Webhook retry scheduled",
    }
    done = wait_for(
        lambda: next(
            (
                entry
                for entry in logs(stack, account)["data"]
                if entry["id"] == log_id and entry["status"] == "success"
            ),
            None,
        ),
        timeout=5,
    )
    assert done and done["attempts"] == 1 and done["response_code"] == 200
    assert len({d.headers["webhook-id"] for d in receiver.deliveries}) == 1


def test_config_secret_and_validation(stack, account):
    config = requests.get(stack.api + "/api/v1/webhooks/config", headers=account, timeout=5)
    old_secret = config.json()["webhook_secret"]
    regenerated = requests.post(
        stack.api + "/api/v1/webhooks/secret/regenerate", headers=account, timeout=5
    ).json()["webhook_secret"]
    assert regenerated.startswith("whsec_") and regenerated != old_secret
    bad = requests.put(
        stack.api + "/api/v1/webhooks/config",
        headers=account,
        timeout=5,
        json={"webhook_url": "ftp://example.com"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    cleared = requests.put(
        stack.api + "/api/v1/webhooks/config",
        headers=account,
        timeout=5,
        json={"webhook_url": None},
    )
    assert cleared.json()["webhook_url"] is None
    no_url = requests.post(stack.api + "/api/v1/webhooks/test", headers=account, timeout=5)
    assert no_url.status_code == 400


def test_no_logs_without_url_and_pagination_bounds(stack):
    headers = headers_of(signup(stack))
    order = requests.post(
        stack.api + "/api/v1/orders", json={"amount": 100}, headers=headers, timeout=5
    ).json()
    requests.post(
        stack.api + "/api/v1/payments",
        headers=headers,
        timeout=5,
        json={"order_id": order["id"], "method": "upi", "vpa": "success@ok"},
    )
    time.sleep(1.5)
    assert logs(stack, headers) == {"data": [], "total": 0, "limit": 10, "offset": 0}
    for query in ("?limit=0", "?limit=101", "?offset=-1", "?limit=x"):
        response = requests.get(f"{stack.api}/api/v1/webhooks{query}", headers=headers, timeout=5)
        assert response.status_code == 400, query


def test_another_merchants_log_is_not_found(stack, account, receiver):
    log_id = requests.post(stack.api + "/api/v1/webhooks/test", headers=account, timeout=5).json()[
        "id"
    ]
    stranger = headers_of(signup(stack))
    response = requests.post(
        f"{stack.api}/api/v1/webhooks/{log_id}/retry", headers=stranger, timeout=5
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND_ERROR"
