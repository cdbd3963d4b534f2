"""The few calls the CLI makes to a Paygate API, authenticated with the merchant's key pair."""

from __future__ import annotations

from collections.abc import Iterator

import requests

TIMEOUT_SECONDS = 10
# A poll reads at most this many pages (100 events each): an API that answers has_more
# forever costs a bounded number of requests per poll.
MAX_PAGES_PER_POLL = 20
EVENT_FIELDS = ("id", "event", "created_at", "payload")
PAYMENT_FIELDS = ("id", "status", "amount")


class TooManyPages(Exception):
    """The API still had more after MAX_PAGES_PER_POLL pages."""


class ApiError(Exception):
    """An answer that was not 2xx (or no answer at all: `status` None)."""

    def __init__(self, status: int | None, code: str, description: str) -> None:
        super().__init__(f"{status or 'no answer'} {code}: {description}")
        self.status, self.code, self.description = status, code, description


def _unexpected(status: int, path: str, what: str) -> ApiError:
    return ApiError(status, "UNEXPECTED_ANSWER", f"unexpected answer to {path}: {what}")


def _expect(body: dict, path: str, status: int, fields: tuple[str, ...]) -> dict:
    """`body` if it has every field of `fields`; an ApiError naming the first missing one."""
    for name in fields:
        if name not in body:
            raise _unexpected(status, path, f"no {name!r} field (is --api-url a Paygate API?)")
    return body


class PaygateApi:
    def __init__(
        self, url: str, key: str, secret: str, session: requests.Session | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.update({"X-Api-Key": key, "X-Api-Secret": secret})

    def call(self, method: str, path: str, expect: tuple[str, ...] = (), **kwargs) -> dict:
        """The JSON object of a 2xx answer (with the fields of `expect`); ApiError (with the
        envelope's code) otherwise. Redirects are never followed: the key and secret go to
        --api-url and nowhere else (requests would carry them to any host but Authorization)."""
        try:
            response = self.session.request(
                method,
                self.url + path,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ApiError(None, type(exc).__name__, str(exc)) from exc
        status = response.status_code
        if 300 <= status < 400:
            where = (response.headers.get("Location") or "nowhere")[:300]
            raise ApiError(
                status,
                "REDIRECT",
                f"{path} redirects to {where}; not followed, so your key and secret go nowhere "
                "else (give the final address as --api-url if you trust it)",
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not 200 <= status < 300 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error, dict):
                kind = response.headers.get("Content-Type") or "no content type"
                raise _unexpected(status, path, f"not a JSON object ({kind[:60]})")
            raise ApiError(status, error.get("code"), error.get("description"))
        return _expect(body, path, status, expect)

    # ------------------------------------------------------------------ events
    def events(self, **params) -> dict:
        """One page of `GET /api/v1/events` (newest first), checked: a list of events each
        with the fields the listener reads, and a boolean `has_more`."""
        query = {k: v for k, v in params.items() if v is not None}
        path = "/api/v1/events"
        page = self.call("GET", path, expect=("data", "has_more"), params=query)
        if not isinstance(page["data"], list) or not isinstance(page["has_more"], bool):
            raise _unexpected(200, path, "'data' is not a list or 'has_more' not a boolean")
        for event in page["data"]:
            if not isinstance(event, dict) or not all(
                isinstance(event.get(name), str) for name in EVENT_FIELDS
            ):
                raise _unexpected(200, path, f"an event without {', '.join(EVENT_FIELDS)}")
        return page

    def all_events(self, **params) -> Iterator[dict]:
        """Every event matching `params`, newest first, following the cursor for at most
        MAX_PAGES_PER_POLL pages; then raises TooManyPages (after yielding what it read)."""
        query = {"limit": 100, **params}
        for _ in range(MAX_PAGES_PER_POLL):
            page = self.events(**query)
            yield from page["data"]
            if not page["has_more"] or not page["data"]:
                return
            query["starting_after"] = page["data"][-1]["id"]
        raise TooManyPages(MAX_PAGES_PER_POLL)

    # ------------------------------------------------------------------ objects
    def create_order(self, amount: int, currency: str) -> dict:
        return self.call(
            "POST",
            "/api/v1/orders",
            expect=("id",),
            json={"amount": amount, "currency": currency},
        )

    def create_payment(self, body: dict, idempotency_key: str) -> dict:
        return self.call(
            "POST",
            "/api/v1/payments",
            expect=PAYMENT_FIELDS,
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    def payment(self, payment_id: str) -> dict:
        return self.call("GET", f"/api/v1/payments/{payment_id}", expect=PAYMENT_FIELDS)

    def create_refund(self, payment_id: str, amount: int, idempotency_key: str) -> dict:
        return self.call(
            "POST",
            f"/api/v1/payments/{payment_id}/refunds",
            expect=("id", "status"),
            json={"amount": amount, "reason": "paygate trigger"},
            headers={"Idempotency-Key": idempotency_key},
        )

    def refund(self, refund_id: str) -> dict:
        return self.call("GET", f"/api/v1/refunds/{refund_id}", expect=("id", "status"))

    def send_test_webhook(self) -> dict:
        return self.call("POST", "/api/v1/webhooks/test", expect=("id",))
