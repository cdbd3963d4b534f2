"""Red-team findings on the API's limits, end to end: concurrent sign-in guesses, manual webhook
retries and bulk replays, sign-ups per address, checkout payment attempts per order, and
amounts that are not integers.

Every limit counts in fixed windows aligned on the clock; a test that needs one window waits for
a fresh one when the current one is about to end, so its requests never straddle two."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from infra.local.webhook_receiver import Receiver
from tests.security.helpers import call, created, settled, signup, wait_for
from tests.support.stack import client_from

PASSWORD = "hunter22!"  # tests.security.helpers.signup's


def within_one_window(seconds: int, needed: float = 30.0) -> None:
    """Return when at least `needed` seconds are left in the current `seconds` window."""
    left = seconds - time.time() % seconds
    if left < needed:
        time.sleep(left + 0.5)


def assert_limited(response: requests.Response, longest: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "RATE_LIMITED", response.text
    assert 1 <= int(response.headers["Retry-After"]) <= longest, response.headers


def login(stack, client, email, password):
    return client.post(
        stack.api + "/api/v1/auth/login",
        json={"email": email, "password": password},
        timeout=60,
    )


# ---------------------------------------------------------------------------- sign-in (a16)
def test_concurrent_wrong_guesses_reach_the_password_check_at_most_five_times(stack):
    """a16/a16b: the limit was checked before the scrypt and counted after it, so every guess
    of a burst got through. Now each guess is counted before its password is checked."""
    within_one_window(900, needed=120)
    account = signup(stack, "Burst Shop")
    email = account["merchant"]["email"]
    address = client_from().address
    guesses = 30
    start = threading.Barrier(guesses)

    def guess(n: int) -> requests.Response:
        client = client_from(address)
        start.wait()
        return login(stack, client, email, f"wrong-{n:03d}xx")

    with ThreadPoolExecutor(guesses) as pool:
        answers = list(pool.map(guess, range(guesses)))
    codes = Counter(r.status_code for r in answers)
    assert codes == {401: 5, 429: guesses - 5}, codes
    for answer in answers:
        if answer.status_code == 429:
            assert_limited(answer, 900)
    # The right password is refused too, from that address and (the account) from another.
    assert_limited(login(stack, client_from(address), email, PASSWORD), 900)
    assert_limited(login(stack, client_from(), email, PASSWORD), 900)


def test_a_right_password_under_the_limit_signs_in_and_uses_none_of_it(stack):
    within_one_window(900, needed=60)
    account = signup(stack, "Forgiven Shop")
    email = account["merchant"]["email"]
    client = client_from()
    for _ in range(4):
        assert login(stack, client, email, "wrong-pass").status_code == 401
    assert login(stack, client, email, PASSWORD).status_code == 200
    assert login(stack, client, email, "wrong-pass").status_code == 401  # the 5th failure
    assert_limited(login(stack, client, email, PASSWORD), 900)


# ---------------------------------------------------------------------------- webhooks (a21)
@pytest.fixture
def hooked(stack):
    receiver = Receiver("pending").start()
    headers = signup(stack, "Retry Shop")["headers"]
    saved = call(
        stack, headers, "PUT", "/api/v1/webhooks/config", json={"webhook_url": receiver.url}
    )
    assert saved.status_code == 200, saved.text
    yield headers
    receiver.stop()


def test_manual_retries_are_limited_per_merchant(stack, hooked):
    """a21: a manual retry makes the worker POST at once, like a test webhook (60/min)."""
    log_id = call(stack, hooked, "POST", "/api/v1/webhooks/test").json()["id"]
    logged = wait_for(
        lambda: any(
            log["id"] == log_id
            for log in call(stack, hooked, "GET", "/api/v1/webhooks").json()["data"]
        ),
        timeout=15,
    )
    assert logged, "the test delivery was never logged"
    within_one_window(60, needed=25)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: call(stack, hooked, "POST", f"/api/v1/webhooks/{log_id}/retry"),
                range(70),
            )
        )
    codes = Counter(r.status_code for r in answers)
    assert codes == {200: 60, 429: 10}, codes
    assert_limited(next(r for r in answers if r.status_code == 429), 60)
    # Another merchant is not held back.
    other = signup(stack, "Other Retry Shop")["headers"]
    missing = call(stack, other, "POST", f"/api/v1/webhooks/{uuid.uuid4()}/retry")
    assert missing.status_code == 404, missing.text


def test_bulk_replays_are_limited_per_merchant(stack, hooked):
    body = {
        "status": "failed",
        "created_gte": "2026-01-01T00:00:00Z",
        "created_lt": "2026-01-02T00:00:00Z",
    }
    within_one_window(60, needed=25)
    answers = [call(stack, hooked, "POST", "/api/v1/webhooks/replay", json=body) for _ in range(11)]
    assert [r.status_code for r in answers] == [202] * 10 + [429], [r.text for r in answers]
    assert_limited(answers[-1], 60)


# ---------------------------------------------------------------------------- sign-up
def test_sign_ups_are_limited_per_client_address(stack):
    within_one_window(3600, needed=60)
    client = client_from()

    def sign_up(client):
        return client.post(
            stack.api + "/api/v1/auth/signup",
            json={"name": "Farm", "email": f"{uuid.uuid4().hex}@example.com", "password": PASSWORD},
            timeout=30,
        )

    assert [sign_up(client).status_code for _ in range(10)] == [201] * 10
    refused = sign_up(client)
    assert_limited(refused, 3600)
    assert sign_up(client_from()).status_code == 201  # another address is not limited


# ---------------------------------------------------------------------------- checkout payments
def test_checkout_payment_attempts_are_limited_per_order(stack):
    """Anyone holding an order id could keep it busy for ever: a failing attempt, then another
    once it failed. Checkout attempts per order are limited; the merchant's own calls are not."""
    within_one_window(3600, needed=120)
    headers = signup(stack, "Checkout Shop")["headers"]
    order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": 5000}))
    public = {"order_id": order["id"], "method": "upi", "vpa": "failure@okbank"}
    for _ in range(10):
        attempt = created(call(stack, {}, "POST", "/api/v1/payments/public", json=public))
        assert settled(stack, headers, attempt["id"])["status"] == "failed"
    refused = call(stack, {}, "POST", "/api/v1/payments/public", json=public)
    assert_limited(refused, 3600)
    merchant_call = {**public, "vpa": "success@okbank"}
    paid = created(call(stack, headers, "POST", "/api/v1/payments", json=merchant_call))
    assert settled(stack, headers, paid["id"])["status"] == "success"


# ---------------------------------------------------------------------------- amounts (a02, a04)
@pytest.mark.parametrize("amount", [10000.0, 1e4, True, "10000", 9999.5])
def test_capture_takes_only_an_integer_amount(stack, amount):
    headers = signup(stack, "Capture Shop")["headers"]
    order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": 10000}))
    body = {"order_id": order["id"], "method": "upi", "vpa": "success@okbank"}
    payment = created(call(stack, headers, "POST", "/api/v1/payments", json=body))
    settled(stack, headers, payment["id"])
    path = f"/api/v1/payments/{payment['id']}/capture"
    refused = call(stack, headers, "POST", path, json={"amount": amount})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert (
        call(stack, headers, "GET", f"/api/v1/payments/{payment['id']}").json()["captured"] is False
    )
    assert call(stack, headers, "POST", path, json={"amount": 10000}).status_code == 200


@pytest.mark.parametrize("raw", ['{"amount": 100.0}', '{"amount": 1e3}', '{"amount": true}'])
def test_orders_take_only_an_integer_amount(stack, raw):
    headers = signup(stack, "Order Shop")["headers"]
    refused = requests.post(
        stack.api + "/api/v1/orders",
        data=raw,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "BAD_REQUEST_ERROR"


@pytest.mark.parametrize("amount", [1000.0, 1e3, True, 1.5])
def test_refunds_take_only_an_integer_amount(stack, amount):
    headers = signup(stack, "Refund Shop")["headers"]
    order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": 10000}))
    body = {"order_id": order["id"], "method": "upi", "vpa": "success@okbank"}
    payment = created(call(stack, headers, "POST", "/api/v1/payments", json=body))
    settled(stack, headers, payment["id"])
    path = f"/api/v1/payments/{payment['id']}/refunds"
    refused = call(stack, headers, "POST", path, json={"amount": amount})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert call(stack, headers, "GET", path).json()["total"] == 0
