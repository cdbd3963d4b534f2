"""Secret rotation with overlap and the test-webhook rate limit, end to end."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from infra.local.webhook_receiver import Receiver
from tests.e2e.test_foundation import headers_of, signup


@pytest.fixture
def receiver():
    running = Receiver("pending").start()
    yield running
    running.stop()


@pytest.fixture
def account(stack, receiver):
    headers = headers_of(signup(stack))
    saved = requests.put(
        stack.api + "/api/v1/webhooks/config",
        headers=headers,
        json={"webhook_url": receiver.url},
        timeout=10,
    )
    assert saved.status_code == 200, saved.text
    receiver.secret = saved.json()["webhook_secret"]
    return headers


def post(stack, path, headers, **kwargs):
    return requests.post(stack.api + path, headers=headers, timeout=10, **kwargs)


def config(stack, headers) -> dict:
    response = requests.get(stack.api + "/api/v1/webhooks/config", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    return predicate()


def test_regenerate_keeps_the_previous_secret_valid_for_the_overlap(stack, account, receiver):
    old = receiver.secret
    assert config(stack, account)["previous_secret_expires_at"] is None

    # A delivery fails, so its retry is pending when the secret is rolled.
    receiver.status = 500
    sent = post(stack, "/api/v1/webhooks/test", account)
    assert sent.status_code == 202
    assert wait_for(lambda: len(receiver.deliveries) == 1, 5)
    first = receiver.deliveries[0]
    assert len(first.headers["webhook-signature"].split()) == 1
    assert Webhook(old).verify(first.body, first.headers)

    before = time.time()
    rolled = post(
        stack, "/api/v1/webhooks/secret/regenerate", account, json={"expire_previous_in": 3600}
    )
    assert rolled.status_code == 200, rolled.text
    body = rolled.json()
    assert set(body) == {"webhook_secret", "previous_secret_expires_at"}
    new = body["webhook_secret"]
    assert new.startswith("whsec_") and new != old
    expires = datetime.fromisoformat(body["previous_secret_expires_at"].replace("Z", "+00:00"))
    assert 3599 <= expires.timestamp() - before <= 3602
    shown = config(stack, account)
    assert shown["webhook_secret"] == new
    assert shown["previous_secret_expires_at"] == body["previous_secret_expires_at"]

    # The pending retry (5 s later on the test schedule) is signed with both secrets.
    receiver.status = 200
    assert wait_for(lambda: len(receiver.deliveries) == 2, 10)
    retry = receiver.deliveries[1]
    assert retry.headers["webhook-id"] == first.headers["webhook-id"]
    assert len(retry.headers["webhook-signature"].split()) == 2
    for secret in (new, old):
        assert Webhook(secret).verify(retry.body, retry.headers)["event"] == "webhook.test"
    assert (
        retry.headers["x-webhook-signature"]
        == hmac.new(new.encode(), retry.body, hashlib.sha256).hexdigest()
    )
    # a receiver still configured with the old secret only accepts it (Standard Webhooks)
    assert retry.standard_ok is True and retry.legacy_ok is False
    receiver.other_secrets = [new]

    # Rolling again with no overlap: only the newest secret signs from now on.
    newest = post(
        stack, "/api/v1/webhooks/secret/regenerate", account, json={"expire_previous_in": 0}
    ).json()["webhook_secret"]
    assert config(stack, account)["previous_secret_expires_at"] is None
    receiver.secret, receiver.other_secrets = newest, []
    assert post(stack, "/api/v1/webhooks/test", account).status_code == 202
    assert wait_for(lambda: len(receiver.deliveries) == 3, 5)
    latest = receiver.deliveries[2]
    assert latest.legacy_ok and latest.standard_ok
    assert len(latest.headers["webhook-signature"].split()) == 1
    for stale in (new, old):
        with pytest.raises(WebhookVerificationError):
            Webhook(stale).verify(latest.body, latest.headers)


@pytest.mark.parametrize(
    "body",
    [
        {"expire_previous_in": -1},
        {"expire_previous_in": 604801},
        {"expire_previous_in": "3600"},
        {"expire_previous_in": 1.5},
        {"expire_previous_in": True},
        [3600],
    ],
)
def test_bad_overlaps_are_refused_and_change_nothing(stack, account, receiver, body):
    response = post(stack, "/api/v1/webhooks/secret/regenerate", account, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert config(stack, account)["webhook_secret"] == receiver.secret


def test_regenerate_without_a_body_defaults_to_a_day(stack, account):
    before = time.time()
    response = post(stack, "/api/v1/webhooks/secret/regenerate", account)
    assert response.status_code == 200, response.text
    expires = datetime.fromisoformat(
        response.json()["previous_secret_expires_at"].replace("Z", "+00:00")
    ).timestamp()
    assert 86399 <= expires - before <= 86402


def test_test_webhooks_are_limited_to_60_a_minute_per_merchant(stack, account):
    left = 60 - time.time() % 60
    if left < 20:
        time.sleep(left + 0.1)  # every call of the test in one fixed window
    session = requests.Session()
    session.headers.update(account)
    codes = [
        session.post(stack.api + "/api/v1/webhooks/test", timeout=10).status_code for _ in range(60)
    ]
    assert codes == [202] * 60
    refused = session.post(stack.api + "/api/v1/webhooks/test", timeout=10)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert abs(retry_after - (60 - time.time() % 60)) <= 2
    # another merchant is not affected
    other = headers_of(signup(stack))
    requests.put(
        stack.api + "/api/v1/webhooks/config",
        headers=other,
        json={"webhook_url": "http://127.0.0.1:9/nowhere"},
        timeout=10,
    )
    assert post(stack, "/api/v1/webhooks/test", other).status_code == 202
    requests.put(
        stack.api + "/api/v1/webhooks/config", headers=other, json={"webhook_url": None}, timeout=10
    )
