"""Validation of payment instruments and the settlement rules (CONTRACT §5)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime

from paygate.errors import BadRequest, ExpiredCard, InvalidCard, InvalidVpa

# CONTRACT §5's ^…$ pattern, applied with fullmatch: Python's `$` also matches before a final
# "\n", so `match` with `$` would accept (and store) "user@bank\n".
VPA_PATTERN = re.compile(r"[a-zA-Z0-9._-]+@[a-zA-Z0-9]+")
# Not in CONTRACT §5's pattern (docs/CONTRACT.md marks it [plus]): a VPA is stored and shown as
# sent, and real ones are a few dozen characters.
MAX_VPA_LENGTH = 255
CARD_FIELDS = ("number", "expiry_month", "expiry_year", "cvv", "holder_name")
SUCCESS_PROBABILITY = {"upi": 0.90, "card": 0.95}
TEST_CARD_SUCCEEDS = "4242424242424242"
TEST_CARD_FAILS = "4000000000000002"
FAILURE_CODE = "PAYMENT_FAILED"
FAILURE_DESCRIPTION = "Payment processing failed"


@dataclass(frozen=True)
class PaymentRequest:
    """A validated payment request; for cards only network and last4 survive validation."""

    order_id: str
    method: str
    vpa: str | None = None
    card_network: str | None = None
    card_last4: str | None = None
    forced_outcome: str | None = None  # "success"/"failed" for the deterministic test instruments


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a digit string."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_network(digits: str) -> str:
    """The network by prefix: visa, mastercard, amex, rupay or unknown."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in ("51", "52", "53", "54", "55"):
        return "mastercard"
    if digits[:2] in ("34", "37"):
        return "amex"
    if digits[:2] in ("60", "65") or 81 <= int(digits[:2]) <= 89:
        return "rupay"
    return "unknown"


def _expiry_int(value: object) -> int:
    if isinstance(value, bool):
        raise ExpiredCard()
    if isinstance(value, int):
        return value
    text = value.strip(" ") if isinstance(value, str) else None  # spaces only: never "12\n"
    if text is not None and text.isascii() and text.isdigit():
        return int(text)
    raise ExpiredCard()


def check_expiry(month: object, year: object, today: datetime) -> None:
    """Month 1–12 and a 2- or 4-digit year, valid through the end of its month."""
    month_value = _expiry_int(month)
    raw_year = year.strip(" ") if isinstance(year, str) else year
    year_value = _expiry_int(year)
    year_digits = len(str(raw_year)) if isinstance(raw_year, str) else len(str(year_value))
    if not 1 <= month_value <= 12:
        raise ExpiredCard()
    if year_digits == 2:
        year_value += 2000
    elif year_digits != 4:
        raise ExpiredCard()
    if (year_value, month_value) < (today.year, today.month):
        raise ExpiredCard()


def _parse_card(card: object, today: datetime) -> tuple[str, str, str | None]:
    if not isinstance(card, dict):
        raise BadRequest("card details are required")
    missing = [name for name in CARD_FIELDS if card.get(name) in (None, "")]
    if missing:
        raise BadRequest(f"card.{missing[0]} is required")
    number = card["number"]
    if not isinstance(number, str):
        raise InvalidCard()
    digits = re.sub(r"[\s-]", "", number)
    ascii_digits = digits.isascii() and digits.isdigit()  # "²" and "٤" are isdigit() too
    if not ascii_digits or not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        raise InvalidCard()
    check_expiry(card["expiry_month"], card["expiry_year"], today)
    cvv = card["cvv"]
    if (
        not isinstance(cvv, (str, int))
        or isinstance(cvv, bool)
        or not re.fullmatch(r"[0-9]{3,4}", str(cvv))
    ):
        raise BadRequest("card.cvv must be 3 or 4 digits")
    if not isinstance(card["holder_name"], str):
        raise BadRequest("card.holder_name must be a string")
    forced = {TEST_CARD_SUCCEEDS: "success", TEST_CARD_FAILS: "failed"}.get(digits)
    return card_network(digits), digits[-4:], forced


def parse_payment_request(body: object, today: datetime) -> PaymentRequest:
    """Validate `{order_id, method, vpa | card}`; the card number and CVV are dropped here."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    order_id = body.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise BadRequest("order_id is required")
    method = body.get("method")
    if method == "upi":
        vpa = body.get("vpa")
        if not isinstance(vpa, str) or len(vpa) > MAX_VPA_LENGTH or not VPA_PATTERN.fullmatch(vpa):
            raise InvalidVpa()
        handle = vpa.split("@", 1)[0]
        forced = {"success": "success", "failure": "failed"}.get(handle)
        return PaymentRequest(order_id, "upi", vpa=vpa, forced_outcome=forced)
    if method == "card":
        network, last4, forced = _parse_card(body.get("card"), today)
        return PaymentRequest(
            order_id, "card", card_network=network, card_last4=last4, forced_outcome=forced
        )
    raise BadRequest("method must be upi or card")


def decide_outcome(
    method: str, forced_outcome: str | None, test_mode: bool, test_success: bool, rng=random
) -> str:
    """`success` or `failed`: test instruments first, then TEST_MODE, then the bank's odds."""
    if forced_outcome:
        return forced_outcome
    if test_mode:
        return "success" if test_success else "failed"
    return "success" if rng.random() < SUCCESS_PROBABILITY[method] else "failed"


def bank_delay_ms(test_mode: bool, test_delay_ms: int, rng=random) -> int:
    """How long the simulated bank takes: TEST_PROCESSING_DELAY in test mode, else 5–10 s."""
    if test_mode:
        return test_delay_ms
    return rng.randint(5000, 10000)
