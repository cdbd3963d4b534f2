"""The few calls the CLI makes to a Paygate API, authenticated with the merchant's key pair."""

from __future__ import annotations

from collections.abc import Iterator

import requests

TIMEOUT_SECONDS = 10


class ApiError(Exception):
    """An answer that was not 2xx (or no answer at all: `status` None)."""

    def __init__(self, status: int | None, code: str, description: str) -> None:
        super().__init__(f"{status or 'no answer'} {code}: {description}")
        self.status, self.code, self.description = status, code, description


class PaygateApi:
    def __init__(
        self, url: str, key: str, secret: str, session: requests.Session | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.update({"X-Api-Key": key, "X-Api-Secret": secret})

    def call(self, method: str, path: str, **kwargs) -> dict:
        """The JSON answer of a 2xx; ApiError (with the envelope's code) otherwise."""
        try:
            response = self.session.request(
                method, self.url + path, timeout=TIMEOUT_SECONDS, **kwargs
            )
        except requests.RequestException as exc:
            raise ApiError(None, type(exc).__name__, str(exc)) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not 200 <= response.status_code < 300 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error, dict):
                error = {"code": "UNEXPECTED_ANSWER", "description": response.text[:200]}
            raise ApiError(response.status_code, error.get("code"), error.get("description"))
        return body

    # ------------------------------------------------------------------ events
    def events(self, **params) -> dict:
        """One page of `GET /api/v1/events` (newest first)."""
        query = {k: v for k, v in params.items() if v is not None}
        return self.call("GET", "/api/v1/events", params=query)

    def all_events(self, **params) -> Iterator[dict]:
        """Every event matching `params`, newest first, following the cursor."""
        query = {"limit": 100, **params}
        while True:
            page = self.events(**query)
            yield from page["data"]
            if not page["has_more"] or not page["data"]:
                return
            query["starting_after"] = page["data"][-1]["id"]

    # ------------------------------------------------------------------ objects
    def create_order(self, amount: int, currency: str) -> dict:
        return self.call("POST", "/api/v1/orders", json={"amount": amount, "currency": currency})

    def create_payment(self, body: dict, idempotency_key: str) -> dict:
        return self.call(
            "POST", "/api/v1/payments", json=body, headers={"Idempotency-Key": idempotency_key}
        )

    def payment(self, payment_id: str) -> dict:
        return self.call("GET", f"/api/v1/payments/{payment_id}")

    def create_refund(self, payment_id: str, amount: int, idempotency_key: str) -> dict:
        return self.call(
            "POST",
            f"/api/v1/payments/{payment_id}/refunds",
            json={"amount": amount, "reason": "paygate trigger"},
            headers={"Idempotency-Key": idempotency_key},
        )

    def refund(self, refund_id: str) -> dict:
        return self.call("GET", f"/api/v1/refunds/{refund_id}")

    def send_test_webhook(self) -> dict:
        return self.call("POST", "/api/v1/webhooks/test")
