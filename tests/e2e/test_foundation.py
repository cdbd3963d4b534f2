"""Black-box HTTP against the local stack: health, auth, orders, errors, CORS."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.support.stack import TEST_HEADERS, client_from


def signup(stack) -> dict:
    response = client_from().post(
        stack.api + "/api/v1/auth/signup",
        json={
            "name": "Other Shop",
            "email": f"{uuid.uuid4().hex}@example.com",
            "password": "hunter22",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def headers_of(account: dict) -> dict:
    return {"X-Api-Key": account["api_key"], "X-Api-Secret": account["api_secret"]}


def test_health_is_measured_and_healthy(stack):
    body = requests.get(stack.api + "/health", timeout=5).json()
    assert body["status"] == "healthy"
    assert (body["database"], body["queue"], body["worker"]) == (
        "connected",
        "connected",
        "running",
    )
    assert body["timestamp"].endswith("Z")


def test_seeded_test_merchant(stack):
    body = requests.get(stack.api + "/api/v1/test/merchant", timeout=5).json()
    assert body == {
        "id": "550e8400-e29b-41d4-a716-446655440000",
        "email": "test@example.com",
        "api_key": "key_test_abc123",
        "seeded": True,
    }


def test_order_round_trip_and_isolation(stack):
    order = stack.create_order(50000, receipt="rcpt-1", notes={"sku": "A1"})
    assert order["status"] == "created" and order["currency"] == "INR"
    assert order["id"].startswith("order_") and len(order["id"]) == 22
    fetched = stack.call("GET", f"/api/v1/orders/{order['id']}")
    assert fetched.status_code == 200 and fetched.json() == order
    public = requests.get(f"{stack.api}/api/v1/orders/{order['id']}/public", timeout=5).json()
    assert public == {
        "id": order["id"],
        "amount": 50000,
        "currency": "INR",
        "status": "created",
        "merchant_name": "Test Merchant",
    }
    other = headers_of(signup(stack))
    foreign = requests.get(f"{stack.api}/api/v1/orders/{order['id']}", headers=other, timeout=5)
    unknown = stack.call("GET", "/api/v1/orders/order_0000000000000000")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"] == "NOT_FOUND_ERROR"


@pytest.mark.parametrize(
    "headers,body,status,code",
    [
        ({}, {"amount": 100}, 401, "AUTHENTICATION_ERROR"),
        ({"X-Api-Key": "key_test_abc123"}, {"amount": 100}, 401, "AUTHENTICATION_ERROR"),
        ({**TEST_HEADERS, "X-Api-Secret": "wrong"}, {"amount": 100}, 401, "AUTHENTICATION_ERROR"),
        (
            {"X-Api-Key": "nope", "X-Api-Secret": "secret_test_xyz789"},
            {"amount": 100},
            401,
            "AUTHENTICATION_ERROR",
        ),
        (TEST_HEADERS, {"amount": 99}, 400, "BAD_REQUEST_ERROR"),
        (TEST_HEADERS, {"amount": "100"}, 400, "BAD_REQUEST_ERROR"),
        (TEST_HEADERS, {"amount": 100, "notes": ["x"]}, 400, "BAD_REQUEST_ERROR"),
        (TEST_HEADERS, {"amount": 100, "currency": "rupees"}, 400, "BAD_REQUEST_ERROR"),
        (TEST_HEADERS, "{not json", 400, "BAD_REQUEST_ERROR"),
        (TEST_HEADERS, "", 400, "BAD_REQUEST_ERROR"),
        (TEST_HEADERS, "[1,2]", 400, "BAD_REQUEST_ERROR"),
    ],
)
def test_bad_order_requests(stack, headers, body, status, code):
    data = body if isinstance(body, str) else json.dumps(body)
    response = requests.post(
        stack.api + "/api/v1/orders",
        data=data,
        timeout=5,
        headers={"Content-Type": "application/json", **headers},
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["description"]
    if status == 401:
        assert error["description"] == "Invalid API credentials"


def test_unknown_order_id(stack):
    response = stack.call("GET", "/api/v1/orders/order_doesnotexist0000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND_ERROR"


def test_bad_requests_change_nothing(stack):
    before = stack.call("GET", "/api/v1/stats").json()
    for body in (
        {"order_id": "order_0000000000000000", "method": "upi", "vpa": "a@b"},
        {"method": "upi"},
        {"order_id": stack.create_order()["id"], "method": "upi", "vpa": "bad vpa"},
    ):
        assert stack.call("POST", "/api/v1/payments", json=body).status_code in (400, 404)
    assert stack.call("GET", "/api/v1/stats").json() == before


def test_unknown_route_and_wrong_method_use_the_envelope(stack):
    missing = requests.get(stack.api + "/api/v1/nothing-here", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND_ERROR"
    wrong = requests.delete(stack.api + "/api/v1/orders", headers=TEST_HEADERS, timeout=5)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "BAD_REQUEST_ERROR"


def test_oversized_and_deeply_nested_bodies_are_refused(stack):
    big = stack.call(
        "POST", "/api/v1/orders", data=json.dumps({"amount": 100, "notes": {"x": "a" * 70000}})
    )
    assert big.status_code == 400 and "too large" in big.json()["error"]["description"]
    deep = stack.call("POST", "/api/v1/orders", data="[" * 5000 + "]" * 5000)
    assert deep.status_code == 400 and deep.json()["error"]["code"] == "BAD_REQUEST_ERROR"


def test_signup_login_and_bearer_token(stack):
    email = f"{uuid.uuid4().hex}@example.com"
    client = client_from()  # sign-ups are limited per client address
    created = client.post(
        stack.api + "/api/v1/auth/signup",
        timeout=10,
        json={"name": "Shop", "email": email, "password": "longenough"},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["webhook_secret"].startswith("whsec_") and body["api_secret"]
    taken = client.post(
        stack.api + "/api/v1/auth/signup",
        timeout=10,
        json={"name": "Shop", "email": email, "password": "longenough"},
    )
    assert taken.status_code == 400
    short = client.post(
        stack.api + "/api/v1/auth/signup",
        timeout=10,
        json={"name": "Shop", "email": "x" + email, "password": "short"},
    )
    assert short.status_code == 400
    wrong = requests.post(
        stack.api + "/api/v1/auth/login", timeout=10, json={"email": email, "password": "not-it"}
    )
    assert wrong.status_code == 401
    login = requests.post(
        stack.api + "/api/v1/auth/login",
        timeout=10,
        json={"email": email, "password": "longenough"},
    )
    assert login.status_code == 200
    token = login.json()["token"]
    me = requests.get(
        stack.api + "/api/v1/merchant", timeout=5, headers={"Authorization": f"Bearer {token}"}
    )
    assert me.status_code == 200 and me.json()["email"] == email
    assert me.json()["api_secret"] == body["api_secret"]
    forged = requests.get(
        stack.api + "/api/v1/merchant",
        timeout=5,
        headers={"Authorization": f"Bearer {token[:-3]}abc"},
    )
    assert forged.status_code == 401


def test_demo_login_admits_the_seeded_merchant(stack):
    login = requests.post(
        stack.api + "/api/v1/auth/login",
        timeout=10,
        json={"email": "test@example.com", "password": "anything"},
    )
    assert login.status_code == 200 and login.json()["merchant"]["api_key"] == "key_test_abc123"


def test_cors_allows_only_configured_origins(stack):
    allowed = stack.dashboard
    ok = requests.options(
        stack.api + "/api/v1/orders",
        timeout=5,
        headers={"Origin": allowed, "Access-Control-Request-Method": "POST"},
    )
    assert ok.status_code in (200, 204)
    assert ok.headers["Access-Control-Allow-Origin"] == allowed
    assert "X-Api-Key" in ok.headers["Access-Control-Allow-Headers"]
    evil = requests.options(
        stack.api + "/api/v1/orders",
        timeout=5,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in evil.headers
    get = requests.get(
        stack.api + "/api/v1/test/merchant", headers={"Origin": stack.checkout}, timeout=5
    )
    assert get.headers["Access-Control-Allow-Origin"] == stack.checkout
