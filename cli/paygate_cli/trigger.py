"""`paygate trigger EVENT`: create the objects that raise an event, with the test instruments
(VPA `success@…`/`failure@…`, cards 4242 4242 4242 4242 and 4000 0000 0000 0002), which give
the same outcome in every mode."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date

from paygate_cli.api import PaygateApi

SUCCESS_VPA = "success@paygate"
FAILING_CARD = "4000000000000002"

# event -> (payment outcome to wait for, refund step: None, "create" or "process")
SCENARIOS: dict[str, tuple[str | None, str | None]] = {
    "payment.created": (None, None),
    "payment.pending": (None, None),
    "payment.success": ("success", None),
    "payment.failed": ("failed", None),
    "order.paid": ("success", None),
    "refund.created": ("success", "create"),
    "refund.processed": ("success", "process"),
    "webhook.test": (None, None),
}


class TriggerFailed(Exception):
    """The objects did not reach the state that raises the event."""


def _wait(read: Callable[[], dict], settled: Callable[[dict], bool], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = read()
        if settled(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.5)


def trigger(
    api: PaygateApi,
    event: str,
    amount: int = 50000,
    currency: str = "INR",
    timeout: float = 60.0,
    out: Callable[[str], None] = print,
) -> dict:
    """Create what raises `event`; returns the ids made (`order`, `payment`, `refund`)."""
    if event == "webhook.test":
        sent = api.send_test_webhook()
        out(f"Sent a webhook.test event (delivery log {sent['id']}).")
        return {"log": sent["id"]}
    outcome, refund_step = SCENARIOS[event]
    order = api.create_order(amount, currency)
    out(f"Created order   {order['id']}  ({amount} {currency} in minor units)")
    if outcome == "failed":
        body = {
            "order_id": order["id"],
            "method": "card",
            "card": {
                "number": FAILING_CARD,
                "expiry_month": 12,
                "expiry_year": date.today().year + 5,
                "cvv": "123",
                "holder_name": "Paygate Trigger",
            },
        }
        instrument = "card 4000 0000 0000 0002 (always fails)"
    else:
        body = {"order_id": order["id"], "method": "upi", "vpa": SUCCESS_VPA}
        instrument = f"UPI {SUCCESS_VPA} (always succeeds)"
    payment = api.create_payment(body, idempotency_key=f"paygate-trigger-{uuid.uuid4()}")
    out(f"Created payment {payment['id']}  with {instrument}: {payment['status']}")
    made = {"order": order["id"], "payment": payment["id"]}
    if outcome is None:
        return made
    payment = _wait(
        lambda: api.payment(made["payment"]), lambda p: p["status"] != "pending", timeout
    )
    out(f"Payment         {payment['id']}  {payment['status']}")
    if payment["status"] != outcome:
        raise TriggerFailed(f"payment {payment['id']} is {payment['status']}, not {outcome}")
    if refund_step is None:
        return made
    refund = api.create_refund(
        payment["id"], payment["amount"], idempotency_key=f"paygate-trigger-{uuid.uuid4()}"
    )
    made["refund"] = refund["id"]
    out(f"Created refund  {refund['id']}  {refund['status']}")
    if refund_step == "process":
        refund = _wait(
            lambda: api.refund(made["refund"]), lambda r: r["status"] != "pending", timeout
        )
        out(f"Refund          {refund['id']}  {refund['status']}")
        if refund["status"] != "processed":
            raise TriggerFailed(f"refund {refund['id']} is still {refund['status']}")
    return made
