"""Merchants, payments and waiting, over plain HTTP against the `stack` fixture."""

from __future__ import annotations

import time
import uuid

import requests

from tests.support.stack import client_from

VALID_CARD = {"expiry_month": 12, "expiry_year": 2099, "cvv": "123", "holder_name": "Asha Rao"}


def signup(stack, name: str = "Other Shop") -> dict:
    """A new merchant: `{merchant, api_key, api_secret, webhook_secret}` plus `headers`. Signed
    up from an address of its own: sign-ups are limited per client address."""
    response = client_from().post(
        stack.api + "/api/v1/auth/signup",
        json={"name": name, "email": f"{uuid.uuid4().hex}@example.com", "password": "hunter22!"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    account = response.json()
    account["headers"] = {"X-Api-Key": account["api_key"], "X-Api-Secret": account["api_secret"]}
    return account


def bearer(stack, account: dict) -> dict:
    """Dashboard-token headers for a merchant made by `signup`."""
    response = requests.post(
        stack.api + "/api/v1/auth/login",
        json={"email": account["merchant"]["email"], "password": "hunter22!"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": "Bearer " + response.json()["token"]}


def call(stack, headers: dict, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, stack.api + path, headers=headers, timeout=10, **kwargs)


def created(response: requests.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def settled(stack, headers: dict, payment_id: str, timeout: float = 10.0) -> dict:
    """The payment once the worker has settled it."""

    def done():
        body = call(stack, headers, "GET", f"/api/v1/payments/{payment_id}").json()
        return body if body["status"] != "pending" else None

    body = wait_for(done, timeout)
    assert body, f"payment {payment_id} did not settle in {timeout} s"
    return body


def paid_order(stack, headers: dict, amount: int = 20000, vpa: str = "success@okbank") -> tuple:
    """(order, settled payment) for a merchant."""
    order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": amount}))
    payment = created(
        call(
            stack,
            headers,
            "POST",
            "/api/v1/payments",
            json={"order_id": order["id"], "method": "upi", "vpa": vpa},
        )
    )
    return order, settled(stack, headers, payment["id"])
