"""No card number and no CVV anywhere: tables, queues (DLQs too), logs, responses, webhooks.

Card payments with several numbers (13, 15 and 16 digits; spaced, dashed and plain), through the
merchant API (with Idempotency-Key) and the public checkout, settled, one refunded, for a
merchant with a webhook URL so events, logs and deliveries carry the payments; plus refused
attempts (bad Luhn, expired). Then every DynamoDB table is scanned, every queue is read
without deleting (VisibilityTimeout=0, once, so the redrive count is barely touched) and
every process's log is read.
"""

from __future__ import annotations

import hashlib
import json
import re

import boto3
import pytest
import requests

from infra.local.webhook_receiver import Receiver
from tests.security.helpers import call, created, settled, signup, wait_for

pytestmark = pytest.mark.e2e

# (number as sent, CVV); CVVs are chosen so that no amount, id or timestamp part contains them
# quoted. Amounts below avoid every CVV and number fragment.
CARDS = [
    ("4111 1111 1111 1111", "739"),
    ("5555-5555-5555-4444", "582"),
    ("378282246310005", "4913"),
    ("6011 1111 1111 1117", "267"),
    ("4000000000000002", "901"),
    ("4242-4242-4242-4242", "356"),
    ("4222222222222", "618"),
]
REFUSED = [
    ("4111 1111 1111 1112", "844"),  # fails Luhn
    ("5105105105105100", "473"),  # valid number, expired card
]
AMOUNT = 12345


def digits(number: str) -> str:
    return re.sub(r"[\s-]", "", number)


def needles() -> list[str]:
    """What must never appear: each number plain and as sent, and each CVV as a JSON value."""
    found = []
    for number, cvv in CARDS + REFUSED:
        found += [digits(number), number, f'"{cvv}"', f":{cvv},", f":{cvv}}}"]
    return found


def leaks(text: str) -> list[str]:
    hits = [needle for needle in needles() if needle in text]
    # A field named cvv anywhere (random ids and receipt handles may spell the letters).
    if re.search(r'\\?"cvv\\?"\s*:', text, re.IGNORECASE):
        hits.append("cvv")
    return hits


def aws(stack, service: str):
    return boto3.client(
        service,
        endpoint_url=stack.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def card_body(order_id: str, number: str, cvv: str, expiry_year=2099) -> dict:
    return {
        "order_id": order_id,
        "method": "card",
        "card": {
            "number": number,
            "expiry_month": "07",
            "expiry_year": expiry_year,
            "cvv": cvv,
            "holder_name": "Asha Rao",
        },
    }


@pytest.fixture(scope="module")
def card_run(stack):
    """Run the card payments; returns what the API answered and what the merchant received."""
    receiver = Receiver("unused").start()
    account = signup(stack, "Card Shop")
    headers = account["headers"]
    saved = call(
        stack, headers, "PUT", "/api/v1/webhooks/config", json={"webhook_url": receiver.url}
    )
    assert saved.status_code == 200
    responses, payments = [], []
    for index, (number, cvv) in enumerate(CARDS):
        order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": AMOUNT}))
        body = card_body(order["id"], number, cvv)
        if index % 2:
            response = requests.post(stack.api + "/api/v1/payments/public", json=body, timeout=10)
        else:
            keyed = {**headers, "Idempotency-Key": f"card-{index}"}
            response = call(stack, keyed, "POST", "/api/v1/payments", json=body)
        responses.append(response)
        payments.append(created(response))
    for number, cvv in REFUSED:
        order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": AMOUNT}))
        refused = call(
            stack,
            headers,
            "POST",
            "/api/v1/payments",
            json=card_body(order["id"], number, cvv, 2001),
        )
        assert refused.status_code == 400, refused.text
        responses.append(refused)
    settled_payments = [settled(stack, headers, p["id"]) for p in payments]
    assert {p["status"] for p in settled_payments} == {"success", "failed"}
    success = next(p for p in settled_payments if p["status"] == "success")
    refund = created(
        call(
            stack, headers, "POST", f"/api/v1/payments/{success['id']}/refunds", json={"amount": 99}
        )
    )

    def quiet():
        done = call(stack, headers, "GET", f"/api/v1/refunds/{refund['id']}").json()
        logs = call(stack, headers, "GET", "/api/v1/webhooks?limit=100").json()["data"]
        paid = sum(p["status"] == "success" for p in settled_payments)
        # created+pending, settled, order.paid per success, refund x2
        expected = 2 * len(CARDS) + len(CARDS) + paid + 2
        return (
            done["status"] == "processed"
            and len(logs) == expected
            and all(log["status"] != "pending" for log in logs)
        )

    assert wait_for(quiet, timeout=20), "the payments' events were not all delivered"
    receiver.stop()
    return {
        "responses": responses,
        "payments": settled_payments,
        "deliveries": receiver.deliveries,
        "headers": headers,
    }


def test_the_run_kept_network_and_last_four_only(card_run):
    by_last4 = {p["card_last4"]: p for p in card_run["payments"]}
    assert set(by_last4) == {digits(n)[-4:] for n, _ in CARDS}
    assert by_last4["1111"]["card_network"] == "visa"
    assert by_last4["4444"]["card_network"] == "mastercard"
    assert by_last4["0005"]["card_network"] == "amex"
    assert by_last4["1117"]["card_network"] == "rupay"


def test_no_card_data_in_api_responses_or_webhooks(card_run):
    for response in card_run["responses"]:
        assert leaks(response.text) == [], response.text
    assert len(card_run["deliveries"]) >= 3 * len(CARDS)
    for delivery in card_run["deliveries"]:
        assert leaks(delivery.body.decode()) == []
        assert leaks(json.dumps(delivery.headers)) == []


def test_no_card_data_in_any_table(stack, card_run):
    dynamodb = aws(stack, "dynamodb")
    tables = dynamodb.list_tables()["TableNames"]
    assert len(tables) >= 8
    scanned = 0
    for table in tables:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                scanned += 1
                assert leaks(json.dumps(item)) == [], (table, item)
    assert scanned > 3 * len(CARDS)  # the run's payments, events and logs were there to scan


def test_no_card_data_in_any_queue_or_dlq(stack, card_run):
    sqs = aws(stack, "sqs")
    urls = sqs.list_queues()["QueueUrls"]
    names = {url.rsplit("/", 1)[-1] for url in urls}
    assert sum("DLQ" in name for name in names) == 3 and len(urls) >= 6, names
    for url in urls:
        # One receive with VisibilityTimeout=0: nothing is hidden from the workers, nothing is
        # deleted; each message's receive count grows by one at most (redrive is at 5).
        received = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        for message in received.get("Messages", []):
            # What a message carries (not its random receipt handle, which may spell "cvv").
            carried = {k: message.get(k) for k in ("Body", "MessageAttributes")}
            assert leaks(json.dumps(carried)) == [], (url, message)


def test_no_card_data_in_any_log(stack, card_run):
    logs = stack.logs()
    assert "paygate" in logs  # the processes did log
    assert leaks(logs) == []


def test_the_leak_check_would_see_each_form():
    for number, cvv in CARDS:
        assert leaks(f"x {digits(number)} y") and leaks(f"x {number} y")
        assert leaks(f'{{"cvv": "{cvv}"}}') and leaks(f'{{"c":"{cvv}"}}')
        assert leaks(f'{{"c":{cvv}}}')
    assert leaks(
        json.dumps({"body": json.dumps({"CVV": "x"})})
    )  # a key inside a stored JSON string
    assert not leaks('{"id": "evt_D641zdPEnCVVCeMw"}')  # letters in a random id are not a field


def test_no_derivable_hash_of_card_data_in_the_idempotency_table(stack, card_run):
    dynamodb = aws(stack, "dynamodb")
    table = next(t for t in dynamodb.list_tables()["TableNames"] if "dempotency" in t)
    dump = json.dumps(dynamodb.scan(TableName=table)["Items"])
    bodies = [
        json.loads(r.request.body)
        for r in card_run["responses"]
        if r.request.headers.get("Idempotency-Key")
    ]
    assert bodies
    for body in bodies:
        digest = hashlib.md5(json.dumps(body, sort_keys=True).encode()).hexdigest()
        assert digest not in dump
