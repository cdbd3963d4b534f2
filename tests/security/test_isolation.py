"""Merchant isolation: on every endpoint that takes an id, another merchant's id answers exactly
as an unknown id does (404 NOT_FOUND_ERROR, same description), and changes nothing.

Intruders: another merchant by API key, the seeded test merchant, and another merchant by
dashboard token. `GET /orders/{id}/public` and `GET /payments/{id}/public` are public by design
(the hosted checkout shows them to the payer, who has no credentials); their tests check that
they reveal only the checkout's fields.
"""

from __future__ import annotations

import secrets
import string
import uuid

import pytest

from infra.local.webhook_receiver import Receiver
from tests.security.helpers import bearer, call, created, paid_order, signup, wait_for
from tests.support.stack import TEST_HEADERS

pytestmark = pytest.mark.e2e

ALNUM = string.ascii_letters + string.digits

# (method, path template, JSON body); `{order}`, `{payment}`, `{refund}`, `{log}`, `{event}` are
# filled in.
ENDPOINTS = [
    ("GET", "/api/v1/orders/{order}", None),
    ("GET", "/api/v1/payments/{payment}", None),
    ("POST", "/api/v1/payments/{payment}/capture", {}),
    ("GET", "/api/v1/payments/{payment}/refunds", None),
    ("POST", "/api/v1/payments/{payment}/refunds", {"amount": 100}),
    ("GET", "/api/v1/refunds/{refund}", None),
    ("GET", "/api/v1/events/{event}", None),
    ("POST", "/api/v1/webhooks/{log}/retry", None),
    ("POST", "/api/v1/payments", {"order_id": "{order}", "method": "upi", "vpa": "a@okbank"}),
]


def unknown_ids() -> dict:
    def fake(prefix):
        return prefix + "_" + "".join(secrets.choice(ALNUM) for _ in range(16))

    return {
        "order": fake("order"),
        "payment": fake("pay"),
        "refund": fake("rfnd"),
        "log": str(uuid.uuid4()),
        "event": fake("evt"),
    }


def fill(value, ids: dict):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def owner(stack):
    """A merchant with an order, a settled payment, a refund and delivered webhook logs."""
    receiver = Receiver("unused").start()
    account = signup(stack, "Owner Shop")
    headers = account["headers"]
    saved = call(
        stack, headers, "PUT", "/api/v1/webhooks/config", json={"webhook_url": receiver.url}
    )
    assert saved.status_code == 200, saved.text
    order, payment = paid_order(stack, headers, amount=30000)
    refund = created(
        call(
            stack,
            headers,
            "POST",
            f"/api/v1/payments/{payment['id']}/refunds",
            json={"amount": 500},
        )
    )

    def processed():
        path = f"/api/v1/refunds/{refund['id']}"
        return call(stack, headers, "GET", path).json()["status"] == "processed"

    def delivered():
        page = call(stack, headers, "GET", "/api/v1/webhooks?limit=100").json()
        done = page["data"] and all(log["status"] == "success" for log in page["data"])
        # payment created, pending, success, order.paid; refund created
        return page["data"] if done and page["total"] == 5 + 1 else None

    # Settled first, so that the snapshots below see nothing move on its own.
    assert wait_for(processed, timeout=10), "the owner's refund was not processed"

    logs = wait_for(delivered, timeout=15)
    assert logs, "the owner's webhooks were not delivered"
    yield {
        "headers": headers,
        "ids": {
            "order": order["id"],
            "payment": payment["id"],
            "refund": refund["id"],
            "log": logs[0]["id"],
            "event": logs[0]["event_id"],
        },
    }
    receiver.stop()


@pytest.fixture(scope="module", params=["other-api-key", "seeded-merchant", "other-bearer-token"])
def intruder(request, stack) -> dict:
    if request.param == "seeded-merchant":
        return dict(TEST_HEADERS)
    account = signup(stack, "Intruder Shop")
    return account["headers"] if request.param == "other-api-key" else bearer(stack, account)


def snapshot(stack, owner) -> dict:
    """Everything an intruder's call could have changed, as the owner sees it."""
    ids, headers = owner["ids"], owner["headers"]
    logs = call(stack, headers, "GET", "/api/v1/webhooks?limit=100").json()
    return {
        "payment": call(stack, headers, "GET", f"/api/v1/payments/{ids['payment']}").json(),
        "refunds": call(stack, headers, "GET", f"/api/v1/payments/{ids['payment']}/refunds").json(),
        "logs": {log["id"]: (log["status"], log["attempts"]) for log in logs["data"]},
        "stats": call(stack, headers, "GET", "/api/v1/stats").json(),
    }


def without_request_id(body: dict) -> dict:
    error = dict(body["error"])
    error.pop("request_id", None)
    return {"error": error}


@pytest.mark.parametrize(
    "method,template,body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
def test_foreign_id_answers_exactly_as_an_unknown_one(
    stack, owner, intruder, method, template, body
):
    before = snapshot(stack, owner)
    unknown_values = unknown_ids()
    foreign = call(
        stack, intruder, method, fill(template, owner["ids"]), json=fill(body, owner["ids"])
    )
    unknown = call(
        stack, intruder, method, fill(template, unknown_values), json=fill(body, unknown_values)
    )
    assert foreign.status_code == unknown.status_code == 404, (foreign.text, unknown.text)
    assert foreign.headers["Content-Type"] == unknown.headers["Content-Type"] == "application/json"
    assert without_request_id(foreign.json()) == without_request_id(unknown.json())
    assert foreign.json()["error"]["code"] == "NOT_FOUND_ERROR"
    assert snapshot(stack, owner) == before, "another merchant's call changed the owner's data"


@pytest.mark.parametrize(
    "template",
    [t for m, t, _ in ENDPOINTS if m == "GET"] + ["/api/v1/webhooks?limit=100"],
)
def test_the_owner_does_see_its_objects(stack, owner, template):
    """The ids used above are real: the owner reads each of them."""
    response = call(stack, owner["headers"], "GET", fill(template, owner["ids"]))
    assert response.status_code == 200, response.text


def test_lists_and_stats_hold_only_the_callers_objects(stack, owner, intruder):
    payments = call(stack, intruder, "GET", "/api/v1/payments?limit=100").json()["data"]
    assert owner["ids"]["payment"] not in {p["id"] for p in payments}
    logs = call(stack, intruder, "GET", "/api/v1/webhooks?limit=100").json()["data"]
    assert owner["ids"]["log"] not in {log["id"] for log in logs}
    events = call(stack, intruder, "GET", "/api/v1/events?limit=100").json()["data"]
    assert owner["ids"]["event"] not in {event["id"] for event in events}
    owner_merchant = call(stack, owner["headers"], "GET", "/api/v1/merchant").json()
    assert all(p["merchant_id"] != owner_merchant["id"] for p in payments)


def test_public_order_view_is_public_by_design_and_minimal(stack, owner):
    order_id = owner["ids"]["order"]
    response = call(stack, {}, "GET", f"/api/v1/orders/{order_id}/public")
    assert response.status_code == 200
    assert set(response.json()) == {"id", "amount", "currency", "status", "merchant_name"}
    assert response.json()["merchant_name"] == "Owner Shop"


def test_public_payment_view_is_public_by_design_and_minimal(stack, owner):
    payment_id = owner["ids"]["payment"]
    response = call(stack, {}, "GET", f"/api/v1/payments/{payment_id}/public")
    assert response.status_code == 200
    assert set(response.json()) == {
        "id",
        "order_id",
        "amount",
        "currency",
        "method",
        "status",
        "error_code",
        "error_description",
    }
    unknown = call(stack, {}, "GET", f"/api/v1/payments/{unknown_ids()['payment']}/public")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND_ERROR"


def test_owner_can_still_capture_and_refund_after_the_intrusions(stack, owner):
    """The POSTs above were refused for the intruders, not because the objects were unusable."""
    payment_id = owner["ids"]["payment"]
    captured = call(stack, owner["headers"], "POST", f"/api/v1/payments/{payment_id}/capture")
    assert captured.status_code == 200 and captured.json()["captured"] is True
    refund = call(
        stack,
        owner["headers"],
        "POST",
        f"/api/v1/payments/{payment_id}/refunds",
        json={"amount": 100},
    )
    assert refund.status_code == 201, refund.text
