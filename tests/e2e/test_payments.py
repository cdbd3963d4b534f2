"""Payments end to end: settlement timing, idempotency under concurrency, card data, capture."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import requests

from tests.e2e.test_foundation import headers_of, signup
from tests.security.helpers import wait_for

CARD = {
    "number": "4242 4242 4242 4242",
    "expiry_month": "12",
    "expiry_year": "30",
    "cvv": "321",
    "holder_name": "Asha Rao",
}
DELAY_S = 1.0  # the stack fixture's TEST_PROCESSING_DELAY


def wait_settled(stack, payment_id: str, timeout: float) -> tuple[dict, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        body = stack.call("GET", f"/api/v1/payments/{payment_id}").json()
        if body["status"] != "pending":
            return body, time.monotonic() - started
        time.sleep(0.05)
    return body, time.monotonic() - started


def test_upi_payment_settles_within_delay_plus_one_second(stack):
    order = stack.create_order(50000)
    started = time.monotonic()
    created = stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": order["id"], "method": "upi", "vpa": "asha@okbank"},
    )
    assert created.status_code == 201
    payment = created.json()
    assert payment["status"] == "pending" and payment["vpa"] == "asha@okbank"
    assert payment["id"].startswith("pay_") and payment["amount"] == 50000
    settled, _ = wait_settled(stack, payment["id"], DELAY_S + 2)
    assert settled["status"] == "success"
    assert time.monotonic() - started <= DELAY_S + 1
    public = requests.get(f"{stack.api}/api/v1/payments/{payment['id']}/public", timeout=5).json()
    assert {k: public[k] for k in ("id", "order_id", "amount", "currency", "method", "status")} == {
        "id": payment["id"],
        "order_id": order["id"],
        "amount": 50000,
        "currency": "INR",
        "method": "upi",
        "status": "success",
    }


def test_checkout_payment_and_failing_instrument(stack):
    order = stack.create_order(12345)
    created = requests.post(
        stack.api + "/api/v1/payments/public",
        timeout=5,
        json={
            "order_id": order["id"],
            "method": "card",
            "card": {**CARD, "number": "4000000000000002"},
        },
    )
    assert created.status_code == 201
    settled, _ = wait_settled(stack, created.json()["id"], DELAY_S + 2)
    assert settled["status"] == "failed" and settled["error_code"] == "PAYMENT_FAILED"
    assert settled["card_network"] == "visa" and settled["card_last4"] == "0002"


def test_validation_codes_over_http(stack):
    order_id = stack.create_order()["id"]
    cases = [
        ({"order_id": order_id, "method": "upi", "vpa": "no-at-sign"}, 400, "INVALID_VPA"),
        (
            {
                "order_id": order_id,
                "method": "card",
                "card": {**CARD, "number": "4242424242424241"},
            },
            400,
            "INVALID_CARD",
        ),
        (
            {"order_id": order_id, "method": "card", "card": {**CARD, "expiry_year": "20"}},
            400,
            "EXPIRED_CARD",
        ),
        (
            {
                "order_id": order_id,
                "method": "card",
                "card": {k: v for k, v in CARD.items() if k != "cvv"},
            },
            400,
            "BAD_REQUEST_ERROR",
        ),
        ({"order_id": order_id, "method": "wallet"}, 400, "BAD_REQUEST_ERROR"),
        (
            {"order_id": "order_0000000000000000", "method": "upi", "vpa": "a@b"},
            404,
            "NOT_FOUND_ERROR",
        ),
    ]
    for body, status, code in cases:
        response = stack.call("POST", "/api/v1/payments", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body


def test_fifty_concurrent_identical_requests_create_one_payment(stack):
    order = stack.create_order()
    key = f"key-{uuid.uuid4()}"
    body = {"order_id": order["id"], "method": "upi", "vpa": "asha@okbank"}

    def send(_):
        return stack.call("POST", "/api/v1/payments", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(send, range(50)))
    created = [r for r in responses if r.status_code == 201]
    in_use = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_use) == 50, {r.status_code for r in responses}
    assert len({r.json()["id"] for r in created}) == 1
    assert sum(1 for r in created if r.headers.get("Idempotent-Replayed") != "true") == 1
    for r in in_use:
        assert r.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
        assert r.headers["Retry-After"]
    listed = stack.call("GET", "/api/v1/payments?limit=100").json()["data"]
    assert sum(1 for p in listed if p["order_id"] == order["id"]) == 1


def test_replay_is_byte_identical_and_reuse_is_refused(stack):
    order = stack.create_order()
    key = f"key-{uuid.uuid4()}"
    body = {"order_id": order["id"], "method": "upi", "vpa": "asha@okbank"}
    first = stack.call("POST", "/api/v1/payments", json=body, headers={"Idempotency-Key": key})
    time.sleep(DELAY_S + 0.5)  # the payment settles meanwhile; the replay must not change
    again = stack.call("POST", "/api/v1/payments", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = stack.call(
        "POST",
        "/api/v1/payments",
        headers={"Idempotency-Key": key},
        json={**body, "vpa": "someone@else"},
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_failed_requests_are_not_stored_under_their_key(stack):
    order = stack.create_order()
    key = f"key-{uuid.uuid4()}"
    bad = stack.call(
        "POST",
        "/api/v1/payments",
        headers={"Idempotency-Key": key},
        json={"order_id": order["id"], "method": "upi", "vpa": "bad vpa"},
    )
    assert bad.status_code == 400
    good = stack.call(
        "POST",
        "/api/v1/payments",
        headers={"Idempotency-Key": key},
        json={"order_id": order["id"], "method": "upi", "vpa": "ok@bank"},
    )
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers


def test_keys_are_scoped_to_the_merchant(stack):
    key = f"shared-{uuid.uuid4()}"
    other = headers_of(signup(stack))
    other_order = requests.post(
        stack.api + "/api/v1/orders", json={"amount": 500}, headers=other, timeout=5
    ).json()
    mine = stack.call(
        "POST",
        "/api/v1/payments",
        headers={"Idempotency-Key": key},
        json={"order_id": stack.create_order()["id"], "method": "upi", "vpa": "a@b"},
    )
    theirs = requests.post(
        stack.api + "/api/v1/payments",
        timeout=5,
        headers={**other, "Idempotency-Key": key},
        json={"order_id": other_order["id"], "method": "upi", "vpa": "a@b"},
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_orders_accept_idempotency_keys(stack):
    key = f"order-{uuid.uuid4()}"
    first = stack.call(
        "POST", "/api/v1/orders", json={"amount": 700}, headers={"Idempotency-Key": key}
    )
    again = stack.call(
        "POST", "/api/v1/orders", json={"amount": 700}, headers={"Idempotency-Key": key}
    )
    assert first.content == again.content and again.headers["Idempotent-Replayed"] == "true"
    bad_key = stack.call(
        "POST", "/api/v1/orders", json={"amount": 700}, headers={"Idempotency-Key": "x" * 256}
    )
    assert bad_key.status_code == 400


def test_card_data_is_nowhere(stack):
    number, cvv = "4111111111111111", "739"
    order = stack.create_order()
    created = stack.call(
        "POST",
        "/api/v1/payments",
        json={
            "order_id": order["id"],
            "method": "card",
            "card": {**CARD, "number": "4111 1111 1111 1111", "cvv": cvv},
        },
    )
    assert created.status_code == 201
    body = created.text
    assert number not in body and "4111 1111" not in body and cvv not in body
    wait_settled(stack, created.json()["id"], DELAY_S + 2)
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint)
    dumped = json.dumps(
        [dynamodb.scan(TableName=t)["Items"] for t in dynamodb.list_tables()["TableNames"]]
    )
    assert number not in dumped and f'"{cvv}"' not in dumped and "4111 1111" not in dumped
    assert number not in stack.logs() and "4111 1111 1111 1111" not in stack.logs()


def test_capture_over_http(stack):
    order = stack.create_order(2500)
    payment = stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
    ).json()
    early = stack.call("POST", f"/api/v1/payments/{payment['id']}/capture")
    assert early.status_code == 400
    assert early.json()["error"]["description"] == "Payment not in capturable state"
    wait_settled(stack, payment["id"], DELAY_S + 2)
    mismatch = stack.call(
        "POST", f"/api/v1/payments/{payment['id']}/capture", json={"amount": 2400}
    )
    assert mismatch.status_code == 400
    captured = stack.call(
        "POST", f"/api/v1/payments/{payment['id']}/capture", json={"amount": 2500}
    )
    assert captured.status_code == 200 and captured.json()["captured"] is True
    twice = stack.call("POST", f"/api/v1/payments/{payment['id']}/capture")
    assert twice.status_code == 400


def pending_payments(stack, headers) -> list[dict]:
    listed = requests.get(stack.api + "/api/v1/payments?limit=100", headers=headers, timeout=5)
    return [p for p in listed.json()["data"] if p["status"] == "pending"]


def test_listing_pagination_and_stats(stack):
    other = headers_of(signup(stack))
    for amount in (1000, 2000, 3000):
        order = requests.post(
            stack.api + "/api/v1/orders", json={"amount": amount}, headers=other, timeout=5
        ).json()
        requests.post(
            stack.api + "/api/v1/payments",
            headers=other,
            timeout=5,
            json={
                "order_id": order["id"],
                "method": "upi",
                "vpa": "failure@bank" if amount == 2000 else "success@bank",
            },
        )
    assert wait_for(lambda: not pending_payments(stack, other), timeout=DELAY_S + 20)
    page = requests.get(
        stack.api + "/api/v1/payments?limit=2&offset=0", headers=other, timeout=5
    ).json()
    assert [p["amount"] for p in page["data"]] == [3000, 2000] and page["total"] == 3
    rest = requests.get(
        stack.api + "/api/v1/payments?limit=2&offset=2", headers=other, timeout=5
    ).json()
    assert [p["amount"] for p in rest["data"]] == [1000]
    for query in ("limit=0", "limit=101", "offset=-1", "limit=abc"):
        bad = requests.get(f"{stack.api}/api/v1/payments?{query}", headers=other, timeout=5)
        assert bad.status_code == 400, query
    stats = requests.get(stack.api + "/api/v1/stats", headers=other, timeout=5).json()
    assert stats == {
        "total_transactions": 3,
        "total_amount": 4000,
        "success_rate": 66.67,
        "by_currency": {
            "INR": {"total_transactions": 3, "total_amount": 4000, "success_rate": 66.67}
        },
    }


def test_jobs_status_counts(stack):
    status = requests.get(stack.api + "/api/v1/test/jobs/status", timeout=5).json()
    assert set(status) == {
        "pending",
        "processing",
        "completed",
        "failed",
        "worker_status",
        "dead_letter",
    }
    assert status["worker_status"] == "running"
    before = status["completed"]
    order = stack.create_order()
    payment = stack.call(
        "POST", "/api/v1/payments", json={"order_id": order["id"], "method": "upi", "vpa": "a@b"}
    ).json()
    queued = requests.get(stack.api + "/api/v1/test/jobs/status", timeout=5).json()
    assert queued["pending"] + queued["processing"] >= 1
    wait_settled(stack, payment["id"], DELAY_S + 2)
    time.sleep(0.3)
    after = requests.get(stack.api + "/api/v1/test/jobs/status", timeout=5).json()
    assert after["completed"] >= before + 1
