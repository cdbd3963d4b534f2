"""Currencies (CONTRACT §3): the documented list with ISO 4217 exponents, in one module, and the
same table in the dashboard and the checkout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paygate.domain.orders import parse_order_request
from paygate.errors import BadRequest
from paygate.money import CURRENCIES, MIN_ORDER_AMOUNT, exponent, parse_currency, to_major

REPO = Path(__file__).resolve().parents[2]

# ISO 4217 exponents, written out independently of paygate.money.
ISO_4217 = {
    **dict.fromkeys(
        [
            "INR",
            "USD",
            "EUR",
            "GBP",
            "SGD",
            "AED",
            "AUD",
            "CAD",
            "CHF",
            "CNY",
            "HKD",
            "NZD",
            "SEK",
            "NOK",
            "DKK",
            "ZAR",
            "MYR",
            "THB",
            "SAR",
            "QAR",
            "LKR",
            "NPR",
            "BDT",
            "MXN",
            "BRL",
        ],
        2,
    ),
    **dict.fromkeys(["JPY", "KRW", "VND", "CLP", "ISK"], 0),
    **dict.fromkeys(["KWD", "BHD", "OMR", "JOD", "TND"], 3),
}


@pytest.mark.parametrize("code", sorted(ISO_4217))
def test_each_currency_has_its_iso_exponent(code):
    assert exponent(code) == ISO_4217[code]
    assert parse_currency(code) == code


def test_the_list_is_exactly_the_documented_one():
    assert CURRENCIES == ISO_4217
    for required in ("INR", "USD", "EUR", "GBP", "SGD", "AED", "JPY"):
        assert required in CURRENCIES


@pytest.mark.parametrize(
    "amount,currency,major",
    [
        (50000, "INR", "500.00"),
        (49950, "INR", "499.50"),
        (50000, "JPY", "50000"),
        (1500, "KWD", "1.500"),
        (100, "BHD", "0.100"),
        (5, "USD", "0.05"),
        (-250, "EUR", "-2.50"),
    ],
)
def test_major_units_follow_the_exponent(amount, currency, major):
    assert to_major(amount, currency) == major


@pytest.mark.parametrize("code", ["XYZ", "BTC", "ABC", "inr", "Usd", "INRR", "", 5, "₹₹₹"])
def test_unknown_or_malformed_codes_are_bad_requests(code):
    with pytest.raises(BadRequest):
        parse_order_request({"amount": 1000, "currency": code})


def test_absent_currency_is_inr():
    assert parse_order_request({"amount": 1000}).currency == "INR"


@pytest.mark.parametrize("code", sorted(ISO_4217))
def test_the_minimum_is_100_minor_units_in_every_currency(code):
    assert parse_order_request({"amount": MIN_ORDER_AMOUNT, "currency": code}).amount == 100
    with pytest.raises(BadRequest, match="at least 100"):
        parse_order_request({"amount": 99, "currency": code})


@pytest.mark.parametrize(
    "path",
    ["dashboard_static/assets/api.js", "sdk/checkout-page.js"],
    ids=["dashboard", "checkout"],
)
def test_javascript_tables_match(path):
    source = (REPO / path).read_text()
    block = re.search(r"CURRENCY_EXPONENTS = \{(.*?)\};", source, re.S)
    assert block, f"no CURRENCY_EXPONENTS table in {path}"
    table = {code: int(n) for code, n in re.findall(r"([A-Z]{3}): (\d)", block.group(1))}
    assert table == CURRENCIES
