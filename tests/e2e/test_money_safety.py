"""Money safety end to end (issue 11): an order is paid once, an idempotency key belongs to one
request, the public payment answer is the public view, currencies keep their exponents, and the
jobs status shows dead letters. Real HTTP against the local stack, real concurrency."""

from __future__ import annotations

import threading
import time
import uuid

import boto3
import requests

from infra.deploy import consumers
from tests.e2e.test_foundation import headers_of, signup
from tests.e2e.test_payments import CARD
from tests.e2e.test_refunds import successful_payment

IN_PROGRESS = "Order has a payment in progress"
ALREADY_PAID = "Order is already paid"
PUBLIC_VIEW = {"id", "order_id", "amount", "currency", "method", "status"}
PUBLIC_VIEW_ALL = PUBLIC_VIEW | {"error_code", "error_description"}
SETTLE_WAIT_S = 20


def refusal(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["description"]


def public_pay(stack, order_id: str, **instrument):
    body = {"order_id": order_id, **(instrument or {"method": "upi", "vpa": "success@okbank"})}
    return requests.post(stack.api + "/api/v1/payments/public", json=body, timeout=10)


def merchant_pay(stack, order_id: str, headers: dict | None = None, **instrument):
    body = {"order_id": order_id, **(instrument or {"method": "upi", "vpa": "success@okbank"})}
    return stack.call("POST", "/api/v1/payments", json=body, headers=headers)


def race(count: int, call) -> list:
    """`count` threads released at once by a barrier, each making one HTTP call."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except Exception as exc:  # noqa: BLE001 - kept for the assertion
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def payments_of_order(stack, order_id: str, headers: dict | None = None) -> list[dict]:
    listed = stack.call("GET", "/api/v1/payments?limit=100", headers=headers).json()["data"]
    return [p for p in listed if p["order_id"] == order_id]


# ---------------------------------------------------------------- 1. order lifecycle
def test_twelve_simultaneous_payments_on_one_order_create_exactly_one(stack):
    account = signup(stack)
    headers = headers_of(account)
    order = requests.post(
        stack.api + "/api/v1/orders", json={"amount": 50000}, headers=headers, timeout=10
    ).json()
    assert (order["status"], order["attempts"], order["amount_paid"]) == ("created", 0, 0)

    def pay(index: int):
        if index % 2:
            return public_pay(stack, order["id"])
        return requests.post(
            stack.api + "/api/v1/payments",
            headers=headers,
            json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
            timeout=10,
        )

    with stack.bank_paused():  # the winner stays pending however long the twelve calls take
        responses = race(12, pay)
        assert all(isinstance(r, requests.Response) for r in responses), responses
        created = [r for r in responses if r.status_code == 201]
        refused = [r for r in responses if r.status_code != 201]
        assert len(created) == 1, [r.text for r in responses]
        assert {refusal(r) for r in refused} == {(400, "BAD_REQUEST_ERROR", IN_PROGRESS)}
        [payment] = payments_of_order(stack, order["id"], headers)
        assert payment["id"] == created[0].json()["id"]

        attempted = stack.call("GET", f"/api/v1/orders/{order['id']}", headers=headers).json()
        assert (attempted["status"], attempted["attempts"], attempted["amount_paid"]) == (
            "attempted",
            1,
            0,
        )
    assert settled(stack, payment["id"], headers)["status"] == "success"
    paid = stack.call("GET", f"/api/v1/orders/{order['id']}", headers=headers).json()
    assert (paid["status"], paid["attempts"], paid["amount_paid"]) == ("paid", 1, 50000)
    public = requests.get(f"{stack.api}/api/v1/orders/{order['id']}/public", timeout=5).json()
    assert public["status"] == "paid"

    # Every later attempt, public or merchant, and after the orphans of the race are gone.
    assert refusal(public_pay(stack, order["id"])) == (400, "BAD_REQUEST_ERROR", ALREADY_PAID)
    again = requests.post(
        stack.api + "/api/v1/payments",
        headers=headers,
        json={"order_id": order["id"], "method": "card", "card": CARD},
        timeout=10,
    )
    assert refusal(again) == (400, "BAD_REQUEST_ERROR", ALREADY_PAID)
    stats = requests.get(stack.api + "/api/v1/stats", headers=headers, timeout=5).json()
    assert stats["total_transactions"] == 1 and stats["total_amount"] == 50000


def settled(stack, payment_id: str, headers: dict | None = None) -> dict:
    """The payment once the worker settled it. These tests are about what the order allows
    afterwards, not about timing (settle timing has its own tests), so the wait is generous."""
    deadline = time.monotonic() + SETTLE_WAIT_S
    while time.monotonic() < deadline:
        body = stack.call("GET", f"/api/v1/payments/{payment_id}", headers=headers).json()
        if body["status"] != "pending":
            return body
        time.sleep(0.05)
    raise AssertionError(f"{payment_id} still pending after {SETTLE_WAIT_S} s")


def test_a_merchant_retry_loop_cannot_pay_an_order_twice(stack):
    order = stack.create_order(3000)
    first = merchant_pay(stack, order["id"])
    assert first.status_code == 201
    assert refusal(merchant_pay(stack, order["id"])) == (400, "BAD_REQUEST_ERROR", IN_PROGRESS)
    assert settled(stack, first.json()["id"])["status"] == "success"
    for _ in range(3):
        assert refusal(merchant_pay(stack, order["id"])) == (
            400,
            "BAD_REQUEST_ERROR",
            ALREADY_PAID,
        )
    assert [p["id"] for p in payments_of_order(stack, order["id"])] == [first.json()["id"]]


def test_after_a_failure_one_new_attempt_wins_even_when_retried_in_parallel(stack):
    order = stack.create_order(4000)
    failed = public_pay(stack, order["id"], method="upi", vpa="failure@okbank")
    assert failed.status_code == 201
    assert settled(stack, failed.json()["id"])["status"] == "failed"
    after_failure = stack.call("GET", f"/api/v1/orders/{order['id']}").json()
    assert (after_failure["status"], after_failure["attempts"]) == ("attempted", 1)

    responses = race(6, lambda i: public_pay(stack, order["id"]))
    assert sum(r.status_code == 201 for r in responses) == 1
    winner = next(r for r in responses if r.status_code == 201).json()
    assert settled(stack, winner["id"])["status"] == "success"
    final = stack.call("GET", f"/api/v1/orders/{order['id']}").json()
    assert (final["status"], final["attempts"], final["amount_paid"]) == ("paid", 2, 4000)


# ---------------------------------------------------------------- 2. idempotency keys
def test_a_refund_key_reused_on_another_payment_is_refused_not_replayed(stack):
    a, b = successful_payment(stack, 10000), successful_payment(stack, 10000)
    key = f"refund-1-{uuid.uuid4()}"
    body = {"amount": 2500}
    first = stack.call(
        "POST", f"/api/v1/payments/{a['id']}/refunds", json=body, headers={"Idempotency-Key": key}
    )
    assert first.status_code == 201 and first.json()["payment_id"] == a["id"]
    other = stack.call(
        "POST", f"/api/v1/payments/{b['id']}/refunds", json=body, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 422, other.text
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "Idempotent-Replayed" not in other.headers
    assert stack.call("GET", f"/api/v1/payments/{b['id']}/refunds").json()["total"] == 0

    replay = stack.call(
        "POST", f"/api/v1/payments/{a['id']}/refunds", json=body, headers={"Idempotency-Key": key}
    )
    assert replay.status_code == 201 and replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert stack.call("GET", f"/api/v1/payments/{a['id']}/refunds").json()["total"] == 1
    changed = stack.call(
        "POST",
        f"/api/v1/payments/{a['id']}/refunds",
        json={"amount": 2600},
        headers={"Idempotency-Key": key},
    )
    assert changed.status_code == 422


def test_a_key_belongs_to_one_operation(stack):
    key = f"shared-{uuid.uuid4()}"
    headers = {"Idempotency-Key": key}
    order = stack.call("POST", "/api/v1/orders", json={"amount": 5000}, headers=headers)
    assert order.status_code == 201
    payment = stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": order.json()["id"], "method": "upi", "vpa": "success@okbank"},
        headers=headers,
    )
    assert payment.status_code == 422
    assert payment.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert payments_of_order(stack, order.json()["id"]) == []

    paid = successful_payment(stack)
    refund = stack.call(
        "POST", f"/api/v1/payments/{paid['id']}/refunds", json={"amount": 5000}, headers=headers
    )
    assert refund.status_code == 422
    assert stack.call("POST", "/api/v1/orders", json={"amount": 5000}, headers=headers).content == (
        order.content
    )


def test_a_payment_key_is_bound_to_its_order(stack):
    """A merchant that names keys per customer ("pay-asha") for two orders gets a refusal for
    the second, never the first order's payment as if the second were paid."""
    key = f"pay-asha-{uuid.uuid4()}"
    first_order, second_order = stack.create_order(1000), stack.create_order(1000)
    first = merchant_pay(stack, first_order["id"], headers={"Idempotency-Key": key})
    assert first.status_code == 201
    second = merchant_pay(stack, second_order["id"], headers={"Idempotency-Key": key})
    assert second.status_code == 422
    assert stack.call("GET", f"/api/v1/orders/{second_order['id']}").json()["status"] == "created"


# ---------------------------------------------------------------- 3. the public payment answer
def test_the_public_payment_answer_is_the_public_view(stack):
    upi = public_pay(stack, stack.create_order(2000)["id"], method="upi", vpa="asha@okbank")
    card = public_pay(stack, stack.create_order(2000)["id"], method="card", card=CARD)
    for response in (upi, card):
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == PUBLIC_VIEW_ALL, body
        assert body["status"] == "pending"
        text = response.text
        for secret in ("merchant_id", "550e8400", "asha@okbank", "vpa", "card_", "4242", "321"):
            assert secret not in text, secret
    merchant_view = stack.call("GET", f"/api/v1/payments/{upi.json()['id']}").json()
    assert merchant_view["vpa"] == "asha@okbank"  # kept for the merchant, only not shown


# ---------------------------------------------------------------- 5. currencies
def test_amounts_keep_their_currency_and_unknown_codes_are_refused(stack):
    account = signup(stack)
    headers = headers_of(account)

    def order(amount, currency=None):
        body = {"amount": amount, **({"currency": currency} if currency else {})}
        return requests.post(stack.api + "/api/v1/orders", json=body, headers=headers, timeout=10)

    for bad in ("XYZ", "usd", "RUPEES"):
        response = order(1000, bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == (
            "BAD_REQUEST_ERROR"
        ), bad
    assert order(99, "JPY").status_code == 400  # the minimum is 100 minor units everywhere
    yen = order(50000, "JPY").json()
    dinar = order(1500, "KWD").json()
    rupees = order(20000).json()
    assert (yen["amount"], yen["currency"]) == (50000, "JPY")
    for each in (yen, dinar, rupees):
        created = requests.post(
            stack.api + "/api/v1/payments",
            headers=headers,
            json={"order_id": each["id"], "method": "upi", "vpa": "success@okbank"},
            timeout=10,
        ).json()
        assert (created["amount"], created["currency"]) == (each["amount"], each["currency"])
        assert settled(stack, created["id"], headers)["status"] == "success"
    stats = requests.get(stack.api + "/api/v1/stats", headers=headers, timeout=5).json()
    assert stats["total_amount"] == 20000  # INR only, never 20000 + 50000 + 1500
    assert stats["total_transactions"] == 3
    assert {c: v["total_amount"] for c, v in stats["by_currency"].items()} == {
        "INR": 20000,
        "JPY": 50000,
        "KWD": 1500,
    }
    assert all(v["total_transactions"] == 1 for v in stats["by_currency"].values())


# ---------------------------------------------------------------- 4. jobs status, scheduler
def test_jobs_status_reports_dead_letter_depths(stack):
    status = requests.get(stack.api + "/api/v1/test/jobs/status", timeout=5).json()
    assert {"pending", "processing", "completed", "failed", "worker_status"} <= set(status)
    assert set(status["dead_letter"]) == {"payment", "refund", "webhook"}
    assert all(isinstance(n, int) and n >= 0 for n in status["dead_letter"].values())


def test_the_reconciler_is_scheduled(stack):
    """By the local scheduler in `make run`; by the stack's own rule in `make run-stack`."""
    if stack.mode == "local":
        child = stack.runtime.children["schedule-ReconcilerFunction"]
        assert child.running()
        assert any(
            "scheduler:" in line and "Reconciler" in line and "every 60s" in line
            for line in stack.logs().splitlines()
        )
        return
    reconciler = stack.runtime.deployment["resources"]["ReconcilerFunction"]
    _, rules = consumers.stack_triggers(stack.runtime.deployment)
    events = boto3.client("events")
    scheduled = [
        events.describe_rule(Name=rule)
        for rule in rules
        if any(
            target["Arn"].endswith(f":function:{reconciler}")
            for target in events.list_targets_by_rule(Rule=rule)["Targets"]
        )
    ]
    assert [(r["State"], r["ScheduleExpression"]) for r in scheduled] == [
        ("ENABLED", "rate(1 minute)")
    ]
