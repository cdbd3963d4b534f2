"""Issue 12's isolation scenario, shared by the e2e test (which asserts) and bench.webhooks
(which prints): test events queued for a merchant whose endpoint trickles its answer and for
one whose endpoint answers 200 MB, then a healthy merchant's payments settle."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import requests

from infra.local.hostile_receivers import HostileReceiver
from infra.local.webhook_receiver import Receiver
from tests.support.stack import client_from


def at(iso: str) -> float:
    """Unix seconds of an API timestamp."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass
class IsolationRun:
    lags: dict[str, float] = field(default_factory=dict)  # payment -> settled to received
    missing: list[str] = field(default_factory=list)  # payments whose webhook never came
    # bad logs whose first attempt is the latest: queued -> the worker took it up (log created),
    # and the worker took it up -> the attempt's outcome stamped
    started_after: dict[str, float] = field(default_factory=dict)
    attempt_took: dict[str, float] = field(default_factory=dict)
    bad_logs: dict[str, dict] = field(default_factory=dict)
    queued: int = 0
    deferred: int = 0  # bad logs not attempted yet: deferred by their server's gate
    huge_bytes_sent: int = 0


class _Merchant:
    def __init__(self, api: str, url: str) -> None:
        body = (
            client_from()
            .post(  # sign-ups are limited per client address
                f"{api}/api/v1/auth/signup",
                json={
                    "name": "Isolation",
                    "email": f"{uuid.uuid4().hex}@isolation.example",
                    "password": "isolation",
                },
                timeout=10,
            )
            .json()
        )
        self.api = api
        self.session = requests.Session()
        self.session.headers.update(
            {"X-Api-Key": body["api_key"], "X-Api-Secret": body["api_secret"]}
        )
        self.secret = self.set_url(url)["webhook_secret"]

    def set_url(self, url: str | None) -> dict:
        response = self.session.put(
            f"{self.api}/api/v1/webhooks/config", json={"webhook_url": url}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    def logs(self) -> list[dict]:
        response = self.session.get(f"{self.api}/api/v1/webhooks?limit=100", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["data"]


def _measure_lags(
    api: str, merchant: _Merchant, receiver, payment_ids: list[str], timeout: float, result
) -> None:
    """Wait for each payment's `payment.success` at `receiver`; note its lag after settlement
    in `result.lags`, or the payment in `result.missing`."""

    def arrival(payment_id: str) -> float | None:
        return next(
            (
                d.at
                for d in list(receiver.deliveries)
                if d.event["event"] == "payment.success"
                and d.event["data"]["payment"]["id"] == payment_id
            ),
            None,
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(arrival(p) for p in payment_ids):
        time.sleep(0.02)
    for payment_id in payment_ids:
        settled = merchant.session.get(f"{api}/api/v1/payments/{payment_id}", timeout=10)
        received = arrival(payment_id)
        if received is None:
            result.missing.append(payment_id)
        else:
            result.lags[payment_id] = received - at(settled.json()["updated_at"])


def run_isolation(
    api: str, bad_events_each: int = 15, payments: int = 3, timeout: float = 20
) -> IsolationRun:
    """Queue the bad events, settle `payments` for a healthy merchant, and measure."""
    trickle = HostileReceiver("trickle", interval=1.0).start()  # a whole answer: ~40 s
    huge = HostileReceiver("huge", status=500).start()
    receiver = Receiver("pending").start()
    result = IsolationRun()
    bad: list[_Merchant] = []
    try:
        bad = [_Merchant(api, trickle.url), _Merchant(api, huge.url)]
        healthy = _Merchant(api, receiver.url)
        receiver.secret = healthy.secret
        queued_at: dict[str, float] = {}
        for _ in range(bad_events_each):
            for merchant in bad:
                before = time.time()
                sent = merchant.session.post(f"{api}/api/v1/webhooks/test", timeout=10)
                assert sent.status_code == 202, sent.text
                queued_at[sent.json()["id"]] = before
        result.queued = len(queued_at)

        payment_ids = []
        for _ in range(payments):
            order = healthy.session.post(
                f"{api}/api/v1/orders", json={"amount": 1000}, timeout=10
            ).json()
            payment = healthy.session.post(
                f"{api}/api/v1/payments",
                json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
                timeout=10,
            )
            assert payment.status_code == 201, payment.text
            payment_ids.append(payment.json()["id"])

        _measure_lags(api, healthy, receiver, payment_ids, timeout, result)

        def first_attempts() -> dict[str, dict]:
            logs = [log for merchant in bad for log in merchant.logs()]
            return {log["id"]: log for log in logs if log["attempts"] >= 1}

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(first_attempts()) < len(queued_at):
            time.sleep(0.2)
        result.bad_logs = first_attempts()
        # the rest waited for a place at their server (per-server fairness), counting nothing
        result.deferred = sum(
            1 for merchant in bad for log in merchant.logs() if log["attempts"] == 0
        )
        for log_id, log in result.bad_logs.items():
            if log["attempts"] == 1:  # later attempts come 5 s after a failure
                started = at(log["created_at"])
                result.started_after[log_id] = started - queued_at[log_id]
                result.attempt_took[log_id] = at(log["last_attempt_at"]) - started
        result.huge_bytes_sent = huge.bytes_sent
        return result
    finally:
        for merchant in bad:  # later retries fail at once instead of loading the stack
            merchant.set_url(None)
        receiver.stop()
        trickle.stop()
        huge.stop()


@dataclass
class FloodRun:
    lags: dict[str, float] = field(default_factory=dict)  # victim payment -> settled to received
    missing: list[str] = field(default_factory=list)
    flood_messages: int = 0  # attempts the flood queued (events x endpoints)
    silent_connections: int = 0  # connections the silent endpoint accepted meanwhile
    deferred_logs: int = 0  # flood logs still at 0 attempts, waiting for a place


def run_silent_flood(
    api: str,
    endpoints: int = 16,
    flood_payments: int = 9,
    payments: int = 3,
    timeout: float = 20,
    control: bool = False,
) -> FloodRun:
    """Red-team a08: a merchant with `endpoints` endpoints on a server that accepts and never
    answers makes `flood_payments` payments (4 events each, to every endpoint: more attempts
    than the webhook worker's 50 batches x 10 records); once they are being attempted, another
    merchant's payments settle and their `payment.success` lag is measured. With `control`,
    the flood goes to a receiver answering 200 at once (what the flood costs by its volume)."""
    silent = Receiver("unused").start() if control else HostileReceiver("silent").start()
    receiver = Receiver("pending").start()
    result = FloodRun()
    hostile = None
    try:
        hostile = _Merchant(api, f"{silent.url}/0")
        for n in range(1, endpoints):
            made = hostile.session.post(
                f"{api}/api/v1/webhook_endpoints",
                json={"url": f"{silent.url}/{n}", "enabled_events": ["*"]},
                timeout=10,
            )
            assert made.status_code in (200, 201), made.text
        victim = _Merchant(api, receiver.url)
        receiver.secret = victim.secret

        def pay(merchant: _Merchant) -> str:
            order = merchant.session.post(
                f"{api}/api/v1/orders", json={"amount": 1000}, timeout=10
            ).json()
            payment = merchant.session.post(
                f"{api}/api/v1/payments",
                json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
                timeout=10,
            )
            assert payment.status_code == 201, payment.text
            return payment.json()["id"]

        for _ in range(flood_payments):
            pay(hostile)
        # payment.created, .pending, .success and order.paid, each to every endpoint
        result.flood_messages = flood_payments * 4 * endpoints
        # the flood is being attempted: its server holds as many attempts as it may at once
        # (10, the per-server gate), or the control receiver has had as many
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _contacts(silent) < 10:
            time.sleep(0.05)
        payment_ids = [pay(victim) for _ in range(payments)]

        _measure_lags(api, victim, receiver, payment_ids, timeout, result)
        result.silent_connections = _contacts(silent)
        result.deferred_logs = sum(
            1 for log in hostile.logs() if log["status"] == "pending" and log["attempts"] == 0
        )
        return result
    finally:
        if hostile is not None:  # its retries end at once instead of loading the stack
            listed = hostile.session.get(f"{api}/api/v1/webhook_endpoints", timeout=10)
            for endpoint in listed.json().get("data", []):
                if not endpoint.get("is_default"):
                    hostile.session.delete(
                        f"{api}/api/v1/webhook_endpoints/{endpoint['id']}", timeout=10
                    )
            hostile.set_url(None)
        receiver.stop()
        silent.stop()


def _contacts(server) -> int:
    return server.connections if isinstance(server, HostileReceiver) else len(server.deliveries)
