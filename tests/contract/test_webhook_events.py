"""The `webhooks` section of `openapi.yaml` matches what receivers really get.

Every event of the contract is produced against the local stack for a merchant whose URL is a
local receiver; each delivered body must match its event's schema, each attempt must carry the
documented signature headers (and verify), and the delivery logs must match their schema.
"""

from __future__ import annotations

import json
import re

import pytest

from infra.local.webhook_receiver import Receiver
from tests.contract.spec import load_spec, schema_errors
from tests.security.helpers import call, created, paid_order, settled, signup, wait_for

pytestmark = pytest.mark.e2e

SCHEMA_OF_EVENT = {
    "payment.created": "PaymentCreatedEvent",
    "payment.pending": "PaymentPendingEvent",
    "payment.success": "PaymentSuccessEvent",
    "payment.failed": "PaymentFailedEvent",
    "order.paid": "OrderPaidEvent",
    "refund.created": "RefundCreatedEvent",
    "refund.processed": "RefundProcessedEvent",
    "webhook.test": "WebhookTestEvent",
}


@pytest.fixture(scope="module")
def run(stack):
    """Every event once or more: a UPI success, a card failure, a refund, a test webhook."""
    receiver = Receiver("pending").start()
    account = signup(stack, "Webhook Shop")
    headers = account["headers"]
    saved = call(
        stack, headers, "PUT", "/api/v1/webhooks/config", json={"webhook_url": receiver.url}
    )
    assert saved.status_code == 200, saved.text
    receiver.secret = saved.json()["webhook_secret"]
    _, payment = paid_order(stack, headers, amount=4000)
    order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": 2500}))
    card = {
        "number": "4000 0000 0000 0002",
        "expiry_month": 1,
        "expiry_year": 2099,
        "cvv": "123",
        "holder_name": "Declined",
    }
    failing = created(
        call(
            stack,
            headers,
            "POST",
            "/api/v1/payments",
            json={"order_id": order["id"], "method": "card", "card": card},
        )
    )
    assert settled(stack, headers, failing["id"])["status"] == "failed"
    path = f"/api/v1/payments/{payment['id']}/refunds"
    created(call(stack, headers, "POST", path, json={"amount": 1000, "reason": "contract"}))
    test = call(stack, headers, "POST", "/api/v1/webhooks/test")
    assert test.status_code == 202, test.text

    def everything():
        names = {d.event["event"] for d in receiver.deliveries}
        return names == set(SCHEMA_OF_EVENT) and len(receiver.deliveries) >= 10

    assert wait_for(everything, timeout=20), {d.event["event"] for d in receiver.deliveries}
    receiver.stop()
    return {"deliveries": list(receiver.deliveries), "headers": headers, "test": test.json()}


def test_every_event_body_matches_its_schema(run):
    for delivery in run["deliveries"]:
        event = delivery.event
        assert schema_errors(SCHEMA_OF_EVENT[event["event"]], event) == [], event
        # ...and not another event's (the schemas really tell events apart).
        other = "WebhookTestEvent" if event["event"] != "webhook.test" else "PaymentCreatedEvent"
        assert schema_errors(other, event)


def test_every_attempt_carries_the_documented_signature_headers(run):
    parameters = load_spec()["components"]["parameters"]
    patterns = {
        "x-webhook-signature": parameters["XWebhookSignatureHeader"]["schema"]["pattern"],
        "webhook-timestamp": parameters["WebhookTimestampHeader"]["schema"]["pattern"],
        "webhook-signature": parameters["WebhookSignatureHeader"]["schema"]["pattern"],
    }
    for delivery in run["deliveries"]:
        headers = delivery.headers
        assert headers["content-type"] == "application/json"
        for name, pattern in patterns.items():
            assert re.search(pattern, headers[name]), (name, headers[name])
        assert headers["webhook-id"] == delivery.event["id"]
        assert schema_errors("EventId", headers["webhook-id"]) == []
        assert delivery.legacy_ok and delivery.standard_ok
        assert b": " not in delivery.body and b", " not in delivery.body  # compact JSON


def test_delivery_logs_match_their_schema(stack, run):
    page = call(stack, run["headers"], "GET", "/api/v1/webhooks?limit=100").json()
    assert schema_errors("WebhookLogPage", page) == []
    assert page["total"] == len(page["data"]) >= 10
    for log in page["data"]:
        body = json.loads(log["payload"])
        assert body["event"] == log["event"] and body["id"] == log["event_id"]
        assert schema_errors(SCHEMA_OF_EVENT[log["event"]], body) == []
    test_logs = [log for log in page["data"] if log["event"] == "webhook.test"]
    assert [log["id"] for log in test_logs] == [run["test"]["id"]]
    assert schema_errors("WebhookTestResponse", run["test"]) == []


def test_the_event_schemas_can_fail():
    event = {"id": "evt_0000000000000000", "event": "payment.created", "timestamp": 1, "data": {}}
    assert schema_errors("PaymentCreatedEvent", event)  # no payment
    assert schema_errors("PaymentCreatedEvent", {**event, "extra": 1, "data": {"payment": {}}})
