"""Refunds end to end against the local stack."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.test_payments import DELAY_S, wait_settled

EXCEEDS = "Refund amount exceeds available amount"


def successful_payment(stack, amount=10000) -> dict:
    order = stack.create_order(amount)
    payment = stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
    ).json()
    settled, _ = wait_settled(stack, payment["id"], DELAY_S + 2)
    assert settled["status"] == "success"
    return settled


def test_refund_is_processed_within_delay_plus_one_second(stack):
    payment = successful_payment(stack)
    started = time.monotonic()
    created = stack.call(
        "POST",
        f"/api/v1/payments/{payment['id']}/refunds",
        json={"amount": 10000, "reason": "customer request"},
    )
    assert created.status_code == 201, created.text
    refund = created.json()
    assert refund["status"] == "pending" and refund["payment_id"] == payment["id"]
    while time.monotonic() - started < DELAY_S + 2:
        current = stack.call("GET", f"/api/v1/refunds/{refund['id']}").json()
        if current["status"] == "processed":
            break
        time.sleep(0.05)
    assert current["status"] == "processed" and current["processed_at"]
    assert time.monotonic() - started <= DELAY_S + 1
    listed = stack.call("GET", f"/api/v1/payments/{payment['id']}/refunds").json()
    assert listed["total"] == 1 and listed["data"][0]["id"] == refund["id"]


def test_partials_overdraw_and_states(stack):
    payment = successful_payment(stack)
    path = f"/api/v1/payments/{payment['id']}/refunds"
    assert stack.call("POST", path, json={"amount": 3000}).status_code == 201
    assert stack.call("POST", path, json={"amount": 7000}).status_code == 201
    over = stack.call("POST", path, json={"amount": 1})
    assert over.status_code == 400
    error = over.json()["error"]
    assert (error["code"], error["description"]) == ("BAD_REQUEST_ERROR", EXCEEDS)
    assert stack.call("POST", path, json={"amount": "5"}).status_code == 400
    unknown = stack.call(
        "POST", "/api/v1/payments/pay_0000000000000000/refunds", json={"amount": 1}
    )
    assert unknown.status_code == 404
    order = stack.create_order()
    pending = stack.call(
        "POST", "/api/v1/payments", json={"order_id": order["id"], "method": "upi", "vpa": "a@b"}
    ).json()
    refused = stack.call("POST", f"/api/v1/payments/{pending['id']}/refunds", json={"amount": 1})
    assert refused.status_code == 400


def test_forty_concurrent_refunds_over_http(stack):
    payment = successful_payment(stack, amount=10000)
    path = f"/api/v1/payments/{payment['id']}/refunds"
    with ThreadPoolExecutor(40) as pool:
        responses = list(
            pool.map(lambda _: stack.call("POST", path, json={"amount": 1000}), range(40))
        )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 10 and codes.count(400) == 30, codes
    listed = stack.call("GET", f"{path}?limit=100").json()
    assert listed["total"] == 10 and sum(r["amount"] for r in listed["data"]) == 10000


def test_refund_idempotency_key(stack):
    payment = successful_payment(stack)
    path = f"/api/v1/payments/{payment['id']}/refunds"
    key = {"Idempotency-Key": f"r-{uuid.uuid4()}"}
    first = stack.call("POST", path, json={"amount": 500}, headers=key)
    again = stack.call("POST", path, json={"amount": 500}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content and again.headers["Idempotent-Replayed"] == "true"
    assert stack.call("GET", path).json()["total"] == 1
