"""Payment validation of CONTRACT §5: every rule and every network prefix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paygate.domain import payments as rules
from paygate.errors import BadRequest, ExpiredCard, InvalidCard, InvalidVpa

TODAY = datetime(2026, 6, 15, tzinfo=UTC)


def card(**overrides):
    base = {
        "number": "4111111111111111",
        "expiry_month": 12,
        "expiry_year": 2030,
        "cvv": "123",
        "holder_name": "Asha",
    }
    return {"order_id": "order_x", "method": "card", "card": {**base, **overrides}}


def parse(body):
    return rules.parse_payment_request(body, TODAY)


@pytest.mark.parametrize("vpa", ["user@okbank", "a.b-c_d@upi", "X9@HDFC"])
def test_valid_vpas(vpa):
    assert parse({"order_id": "o", "method": "upi", "vpa": vpa}).vpa == vpa


@pytest.mark.parametrize(
    "vpa", ["", "user", "user@", "@bank", "us er@bank", "u@ba-nk", "u@bank.com", "u@@bank", None, 5]
)
def test_invalid_vpas(vpa):
    with pytest.raises(InvalidVpa):
        parse({"order_id": "o", "method": "upi", "vpa": vpa})


def test_a_vpa_is_at_most_255_characters():
    """Hostile sizes: a pattern-valid VPA of any length would be stored and shown as it is."""
    longest = "a" * 250 + "@bank"
    assert parse({"order_id": "o", "method": "upi", "vpa": longest}).vpa == longest
    with pytest.raises(InvalidVpa):
        parse({"order_id": "o", "method": "upi", "vpa": "a" * 9_992 + "@okbank"})
    with pytest.raises(InvalidVpa):
        parse({"order_id": "o", "method": "upi", "vpa": "a" * 251 + "@bank"})


def with_check_digit(partial: str) -> str:
    """`partial` plus the digit that makes it Luhn-valid."""
    return next(partial + d for d in "0123456789" if rules.luhn_valid(partial + d))


@pytest.mark.parametrize(
    "prefix,network",
    [
        ("4", "visa"),
        ("51", "mastercard"),
        ("52", "mastercard"),
        ("53", "mastercard"),
        ("54", "mastercard"),
        ("55", "mastercard"),
        ("34", "amex"),
        ("37", "amex"),
        ("60", "rupay"),
        ("65", "rupay"),
        ("81", "rupay"),
        ("82", "rupay"),
        ("85", "rupay"),
        ("89", "rupay"),
        ("35", "unknown"),
        ("50", "unknown"),
        ("56", "unknown"),
        ("80", "unknown"),
        ("90", "unknown"),
        ("61", "unknown"),
    ],
)
def test_networks(prefix, network):
    number = with_check_digit(prefix + "1" * (15 - len(prefix)))
    assert parse(card(number=number)).card_network == network


def test_luhn():
    assert rules.luhn_valid("4111111111111111") and rules.luhn_valid("378282246310005")
    assert not rules.luhn_valid("4111111111111112")


def test_spaces_and_dashes_are_stripped_and_only_last4_kept():
    request = parse(card(number="4111-1111 1111-1111"))
    assert (request.card_network, request.card_last4) == ("visa", "1111")
    assert "4111111111111111" not in repr(request)
    assert "123" not in repr(request).replace("order_x", "")


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",
        "411111111111",
        "41111111111111111111",
        "4111a11111111111",
        "",
        4111111111111111,
    ],
)
def test_invalid_cards(number):
    with pytest.raises((InvalidCard, BadRequest)):
        parse(card(number=number))


@pytest.mark.parametrize("field", rules.CARD_FIELDS)
def test_missing_card_field(field):
    body = card()
    del body["card"][field]
    with pytest.raises(BadRequest):
        parse(body)


@pytest.mark.parametrize(
    "month,year",
    [(0, 2030), (13, 2030), (5, 2026), (12, 2025), (5, 26), ("ab", 2030), (12, 203), (12, "20300")],
)
def test_expired_or_invalid_expiry(month, year):
    with pytest.raises(ExpiredCard):
        parse(card(expiry_month=month, expiry_year=year))


@pytest.mark.parametrize("month,year", [(6, 2026), (6, 26), ("06", "26"), (1, 2031)])
def test_valid_through_end_of_month(month, year):
    assert parse(card(expiry_month=month, expiry_year=year)).method == "card"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "x",
        {"method": "upi", "vpa": "a@b"},
        {"order_id": "o", "method": "netbanking"},
        {"order_id": "o"},
        {"order_id": "o", "method": "card"},
    ],
)
def test_bad_requests(body):
    with pytest.raises(BadRequest):
        parse(body)


def test_test_instruments_force_outcomes():
    assert parse({"order_id": "o", "method": "upi", "vpa": "success@x"}).forced_outcome == "success"
    assert parse({"order_id": "o", "method": "upi", "vpa": "failure@x"}).forced_outcome == "failed"
    assert parse(card(number="4242424242424242")).forced_outcome == "success"
    assert parse(card(number="4000000000000002")).forced_outcome == "failed"
    assert parse(card()).forced_outcome is None


def test_outcome_precedence():
    assert rules.decide_outcome("upi", "failed", True, True) == "failed"
    assert rules.decide_outcome("upi", None, True, False) == "failed"
    assert rules.decide_outcome("upi", None, True, True) == "success"

    class Rng:
        def __init__(self, value):
            self.value = value

        def random(self):
            return self.value

    assert rules.decide_outcome("upi", None, False, True, Rng(0.89)) == "success"
    assert rules.decide_outcome("upi", None, False, True, Rng(0.91)) == "failed"
    assert rules.decide_outcome("card", None, False, True, Rng(0.94)) == "success"
    assert rules.decide_outcome("card", None, False, True, Rng(0.96)) == "failed"


def test_bank_delay():
    assert rules.bank_delay_ms(True, 250) == 250
    assert all(5000 <= rules.bank_delay_ms(False, 0) <= 10000 for _ in range(50))
