"""Secret rotation with overlap and the test-webhook rate limit, end to end."""

from __future__ import annotations

import hashlib
import hmac
import threading
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


# ------------------------------------------------------------------ several rolls in a row
# Each roll promises the secret it replaces until its own `previous_secret_expires_at`; a later
# roll never shortens that promise, `expire_previous_in: 0` revokes every previous secret, and at
# most 5 secrets sign at once (a roll past that is refused and changes nothing).
ENDPOINTS = "/api/v1/webhook_endpoints"
REGENERATE = "/api/v1/webhooks/secret/regenerate"


def regenerate(stack, headers, overlap: int) -> dict:
    response = post(stack, REGENERATE, headers, json={"expire_previous_in": overlap})
    assert response.status_code == 200, response.text
    return response.json()


def deliver(stack, headers, receiver, endpoint_id: str | None = None):
    """Send a test webhook (to `endpoint_id` or the default endpoint) and return what arrived."""
    seen = len(receiver.deliveries)
    body = {"endpoint_id": endpoint_id} if endpoint_id else None
    sent = post(stack, "/api/v1/webhooks/test", headers, json=body)
    assert sent.status_code == 202, sent.text
    assert wait_for(lambda: len(receiver.deliveries) > seen, 10)
    return receiver.deliveries[seen]


def signs(delivery, secret: str) -> bool:
    try:
        Webhook(secret).verify(delivery.body, delivery.headers)
    except WebhookVerificationError:
        return False
    return True


def legacy_is(delivery, secret: str) -> bool:
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    return delivery.headers["x-webhook-signature"] == expected


def at(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def test_three_rolls_keep_every_promised_secret_signing(stack, account, receiver):
    s0 = receiver.secret
    first = regenerate(stack, account, 3600)
    second = regenerate(stack, account, 3600)
    third = regenerate(stack, account, 3600)
    a, b, c = first["webhook_secret"], second["webhook_secret"], third["webhook_secret"]
    assert len({s0, a, b, c}) == 4
    # each answer names the expiry of the secret it just replaced
    assert at(first["previous_secret_expires_at"]) < at(second["previous_secret_expires_at"])
    assert (
        config(stack, account)["previous_secret_expires_at"] == third["previous_secret_expires_at"]
    )

    delivery = deliver(stack, account, receiver)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 4
    assert all(signs(delivery, secret) for secret in (c, b, a, s0))
    assert legacy_is(delivery, c)  # X-Webhook-Signature: the newest only
    assert not signs(delivery, "whsec_" + "A" * 43 + "=")


def test_a_later_shorter_overlap_ends_only_the_secret_it_replaced(stack, account, receiver):
    s0 = receiver.secret
    a = regenerate(stack, account, 3600)["webhook_secret"]
    second = regenerate(stack, account, 2)  # A is promised 2 s only
    b = second["webhook_secret"]
    c = regenerate(stack, account, 3600)["webhook_secret"]
    time.sleep(max(0.0, at(second["previous_secret_expires_at"]) + 1.1 - time.time()))

    delivery = deliver(stack, account, receiver)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 3
    assert signs(delivery, c) and signs(delivery, b)
    assert signs(delivery, s0)  # still within the hour the first roll promised
    assert not signs(delivery, a)


def test_expire_previous_in_zero_revokes_every_previous_secret(stack, account, receiver):
    old = [receiver.secret] + [regenerate(stack, account, 3600)["webhook_secret"] for _ in "ab"]
    revoked = regenerate(stack, account, 0)
    assert config(stack, account)["previous_secret_expires_at"] is None
    delivery = deliver(stack, account, receiver)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 1
    assert signs(delivery, revoked["webhook_secret"])
    assert not any(signs(delivery, secret) for secret in old)


def test_a_roll_past_five_signing_secrets_is_refused_and_changes_nothing(stack, account, receiver):
    made = [receiver.secret] + [regenerate(stack, account, 3600)["webhook_secret"] for _ in "abcd"]
    before = config(stack, account)
    refused = post(stack, REGENERATE, account, json={"expire_previous_in": 3600})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert "expire_previous_in" in refused.json()["error"]["description"]
    assert config(stack, account) == before
    delivery = deliver(stack, account, receiver)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 5
    assert all(signs(delivery, secret) for secret in made)
    assert legacy_is(delivery, made[-1])
    # revoking stays possible at the cap
    assert regenerate(stack, account, 0)["previous_secret_expires_at"]


def concurrently(*calls):
    results: list = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def run(n, call):
        gate.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_concurrent_rolls_lose_no_secret(stack, account, receiver):
    s0 = receiver.secret
    roll = lambda: post(stack, REGENERATE, account, json={"expire_previous_in": 3600})  # noqa: E731
    answers = concurrently(roll, roll)
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    x, y = (r.json()["webhook_secret"] for r in answers)
    assert config(stack, account)["webhook_secret"] in (x, y)
    delivery = deliver(stack, account, receiver)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 3
    assert all(signs(delivery, secret) for secret in (s0, x, y))


def test_two_concurrent_rolls_at_the_cap_never_exceed_it(stack, account, receiver):
    made = [receiver.secret] + [regenerate(stack, account, 3600)["webhook_secret"] for _ in "abc"]
    roll = lambda: post(stack, REGENERATE, account, json={"expire_previous_in": 3600})  # noqa: E731
    answers = concurrently(roll, roll)
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
    (won,) = (r.json()["webhook_secret"] for r in answers if r.status_code == 200)
    assert config(stack, account)["webhook_secret"] == won
    delivery = deliver(stack, account, receiver)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 5
    assert all(signs(delivery, secret) for secret in (*made, won))


def test_an_endpoint_roll_keeps_every_promise_with_the_same_rules(stack, account, receiver):
    made = requests.post(
        stack.api + ENDPOINTS,
        headers=account,
        json={"url": receiver.url, "enabled_events": ["*"]},
        timeout=10,
    )
    assert made.status_code in (200, 201), made.text
    endpoint = made.json()
    path = f"{ENDPOINTS}/{endpoint['id']}/secret/roll"

    def roll(overlap: int):
        return post(stack, path, account, json={"expire_previous_in": overlap})

    secrets = [endpoint["secret"]]
    for _ in range(3):
        rolled = roll(3600)
        assert rolled.status_code == 200, rolled.text
        secrets.append(rolled.json()["secret"])
    delivery = deliver(stack, account, receiver, endpoint["id"])
    assert len(delivery.headers["webhook-signature"].split(" ")) == 4
    assert all(signs(delivery, secret) for secret in secrets)
    assert legacy_is(delivery, secrets[-1])

    # two at once with room for one: one wins, one is refused, the cap holds
    answers = concurrently(lambda: roll(3600), lambda: roll(3600))
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
    (won,) = (r.json()["secret"] for r in answers if r.status_code == 200)
    delivery = deliver(stack, account, receiver, endpoint["id"])
    assert len(delivery.headers["webhook-signature"].split(" ")) == 5
    assert all(signs(delivery, secret) for secret in (*secrets, won))

    revoked = roll(0)
    assert revoked.status_code == 200 and revoked.json()["previous_secret_expires_at"] is None
    delivery = deliver(stack, account, receiver, endpoint["id"])
    assert len(delivery.headers["webhook-signature"].split(" ")) == 1
    assert signs(delivery, revoked.json()["secret"])
    assert not any(signs(delivery, secret) for secret in (*secrets, won))
