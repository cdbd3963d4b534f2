"""Validation of an order request (CONTRACT §3, §5)."""

from __future__ import annotations

from dataclasses import dataclass

from paygate.errors import BadRequest
from paygate.money import MIN_ORDER_AMOUNT, parse_amount, parse_currency


@dataclass(frozen=True)
class OrderRequest:
    amount: int
    currency: str
    receipt: str | None
    notes: dict


def parse_order_request(body: object) -> OrderRequest:
    """Validate an order body `{amount, currency?, receipt?, notes?}`."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    amount = parse_amount(body.get("amount"), minimum=MIN_ORDER_AMOUNT)
    receipt = body.get("receipt")
    if receipt is not None and (
        not isinstance(receipt, str) or len(receipt) > 255 or not receipt.isprintable()
    ):
        raise BadRequest("receipt must be a string of at most 255 printable characters")
    notes = body.get("notes", {})
    if notes is None:
        notes = {}
    if not isinstance(notes, dict):
        raise BadRequest("notes must be a JSON object")
    if len(notes) > 15:
        raise BadRequest("notes may hold at most 15 keys")
    return OrderRequest(amount, parse_currency(body.get("currency")), receipt, notes)
