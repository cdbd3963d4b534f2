"""Amounts and currencies (CONTRACT §3).

An amount is an integer in the smallest unit of its currency: paise for INR, cents for USD, yen
for JPY (no minor unit), fils for KWD (a thousandth). `CURRENCIES` is the documented list of
accepted ISO 4217 codes with their exponent (the number of decimal places of the minor unit);
the dashboard and the checkout carry the same table (a unit test keeps the three equal).

The order minimum is `MIN_ORDER_AMOUNT` (100) in the smallest unit of every currency: ₹1.00,
$1.00, ¥100, 1.000 KWD/10 = 0.100 KWD. One rule in minor units keeps the contract's
`amount >= 100` for INR unchanged and needs no exchange rates.
"""

from __future__ import annotations

from paygate.errors import BadRequest

MIN_ORDER_AMOUNT = 100
MAX_AMOUNT = 10**12
DEFAULT_CURRENCY = "INR"

# ISO 4217 code -> exponent.
CURRENCIES: dict[str, int] = {
    # exponent 2
    "INR": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "AED": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "HKD": 2,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "ZAR": 2,
    "MYR": 2,
    "THB": 2,
    "SAR": 2,
    "QAR": 2,
    "LKR": 2,
    "NPR": 2,
    "BDT": 2,
    "MXN": 2,
    "BRL": 2,
    # exponent 0
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    # exponent 3
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (KeyError for an unsupported code)."""
    return CURRENCIES[currency]


def to_major(amount: int, currency: str) -> str:
    """The amount in major units as a plain decimal string: (50000, INR) -> "500.00",
    (50000, JPY) -> "50000", (1500, KWD) -> "1.500". For logs and documents, not for parsing."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**places)
    return f"{sign}{whole}.{minor:0{places}d}" if places else f"{sign}{whole}"


def parse_amount(value: object, minimum: int = 1, field: str = "amount") -> int:
    """An integer amount >= `minimum`; booleans, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{field} must be an integer")
    if value < minimum:
        raise BadRequest(f"{field} must be at least {minimum}")
    if value > MAX_AMOUNT:
        raise BadRequest(f"{field} is too large")
    return value


def parse_currency(value: object) -> str:
    """A supported ISO 4217 code (upper case); `INR` when absent."""
    if value is None:
        return DEFAULT_CURRENCY
    if not isinstance(value, str) or len(value) != 3 or not value.isascii():
        raise BadRequest("currency must be a 3-letter upper-case ISO 4217 code")
    if value not in CURRENCIES:
        raise BadRequest(f"Unsupported currency: {value}")
    return value
