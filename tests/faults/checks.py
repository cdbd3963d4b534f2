"""What every fault test checks afterwards: each payment settled exactly once, each event
written once, each delivery logged once, the counters equal to the tables."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import boto3
import requests

from tests.support.stack import TEST_HEADERS, client_from


def fresh_merchant(stack, webhook_url: str | None = None) -> dict:
    body = (
        client_from()
        .post(  # sign-ups are limited per client address
            stack.api + "/api/v1/auth/signup",
            timeout=10,
            json={
                "name": "Faults",
                "email": f"{uuid.uuid4().hex}@faults.example",
                "password": "faults-123",
            },
        )
        .json()
    )
    headers = {"X-Api-Key": body["api_key"], "X-Api-Secret": body["api_secret"]}
    if webhook_url:
        requests.put(
            stack.api + "/api/v1/webhooks/config",
            headers=headers,
            timeout=10,
            json={"webhook_url": webhook_url},
        )
    return {"headers": headers, "secret": body["webhook_secret"], "id": body["merchant"]["id"]}


def create_payments(
    stack, count: int, headers: dict | None = None, vpa: str = "success@okbank"
) -> list[str]:
    headers = headers or TEST_HEADERS
    session = requests.Session()
    session.headers.update(headers)
    ids = []
    for _ in range(count):
        # An order takes one payment at a time (CONTRACT §5): one order per payment.
        order = session.post(stack.api + "/api/v1/orders", json={"amount": 1000}).json()
        response = session.post(
            stack.api + "/api/v1/payments",
            json={"order_id": order["id"], "method": "upi", "vpa": vpa},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def statuses(stack, ids: list[str], headers: dict | None = None) -> dict[str, str]:
    session = requests.Session()
    session.headers.update(headers or TEST_HEADERS)
    return {i: session.get(f"{stack.api}/api/v1/payments/{i}").json()["status"] for i in ids}


def wait_until_settled(stack, ids, timeout: float, headers: dict | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [i for i, s in statuses(stack, ids, headers).items() if s == "pending"]
        if not pending:
            return
        time.sleep(1)
    raise AssertionError(f"{len(pending)} payments still pending after {timeout} s")


def scan(table_fragment: str) -> list[dict]:
    dynamodb = boto3.client("dynamodb")
    name = next(t for t in dynamodb.list_tables()["TableNames"] if table_fragment in t)
    items, kwargs = [], {}
    while True:
        page = dynamodb.scan(TableName=name, **kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def events_by_payment() -> dict[str, Counter]:
    found: dict[str, Counter] = {}
    for item in scan("EventsTable"):
        body = json.loads(item["body"]["S"])
        payment = body["data"].get("payment")
        if payment and "refund" not in body["data"]:
            found.setdefault(payment["id"], Counter())[body["event"]] += 1
    return found


def assert_consistent(stack, ids: list[str], headers: dict | None = None) -> None:
    """Every payment settled, with exactly one creation pair and one settlement event (and one
    `order.paid` for a success); each payment's order in the matching state."""
    final = statuses(stack, ids, headers)
    assert set(final.values()) <= {"success", "failed"}, Counter(final.values())
    events = events_by_payment()
    for payment_id, status in final.items():
        expected = Counter({"payment.created": 1, "payment.pending": 1, f"payment.{status}": 1})
        if status == "success":
            expected["order.paid"] = 1  # the payment paid its order, in the same transaction
        assert events[payment_id] == expected, (payment_id, events[payment_id])
    session = requests.Session()
    session.headers.update(headers or TEST_HEADERS)
    for payment_id, status in final.items():
        order_id = session.get(f"{stack.api}/api/v1/payments/{payment_id}").json()["order_id"]
        order = session.get(f"{stack.api}/api/v1/orders/{order_id}").json()
        expected_order = ("paid", 1000) if status == "success" else ("attempted", 0)
        assert (order["status"], order["amount_paid"]) == expected_order, (payment_id, order)
    if headers is not None:  # a merchant of the test's own: its counters must match exactly
        stats = requests.get(stack.api + "/api/v1/stats", headers=headers, timeout=10).json()
        assert stats["total_transactions"] == len(ids)
        successes = sum(1 for s in final.values() if s == "success")
        assert stats["total_amount"] == 1000 * successes
