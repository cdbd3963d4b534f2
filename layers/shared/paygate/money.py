"""Amounts are integers in paise; currencies are three upper-case letters."""

from __future__ import annotations

import re

from paygate.errors import BadRequest

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MIN_ORDER_AMOUNT = 100


def parse_amount(value: object, minimum: int = 1, field: str = "amount") -> int:
    """An integer amount >= `minimum`; booleans, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{field} must be an integer")
    if value < minimum:
        raise BadRequest(f"{field} must be at least {minimum}")
    if value > 10**12:
        raise BadRequest(f"{field} is too large")
    return value


def parse_currency(value: object) -> str:
    """A currency code; `INR` when absent."""
    if value is None:
        return "INR"
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise BadRequest("currency must be a 3-letter upper-case code")
    return value
