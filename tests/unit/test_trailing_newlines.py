"""Every validated field refuses a trailing newline (and other line breaks around it).

Python's `$` also matches just before a final "\\n", so a pattern applied with `match` and `$`
accepts "user@bank\\n" and stores it (red-team a18). Validators use `fullmatch` (or exact
membership); each field with a format has a case here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paygate import ids, security
from paygate.domain import payments as rules
from paygate.domain.events import parse_event_query, parse_time
from paygate.domain.orders import parse_order_request
from paygate.domain.pagination import parse_page
from paygate.domain.webhook_endpoints import parse_enabled_events
from paygate.errors import BadRequest, ExpiredCard, InvalidVpa
from paygate.money import parse_currency
from paygate.services.idempotency import check_key
from paygate.services.merchants import MerchantService
from paygate.settings import Settings
from paygate.webhook_urls import check_url

TODAY = datetime(2026, 6, 15, tzinfo=UTC)
BREAKS = ["\n", "\r\n", "\r", "\nX"]


@pytest.mark.parametrize("tail", BREAKS)
def test_vpa(tail):
    assert (
        rules.parse_payment_request(
            {"order_id": "order_x", "method": "upi", "vpa": "user@bank"}, TODAY
        ).vpa
        == "user@bank"
    )
    with pytest.raises(InvalidVpa):
        rules.parse_payment_request(
            {"order_id": "order_x", "method": "upi", "vpa": "user@bank" + tail}, TODAY
        )


@pytest.mark.parametrize("tail", BREAKS)
def test_signup_email(tail):
    service = MerchantService(repo=None, settings=Settings(), login_limits=None)
    body = {"name": "Shop", "email": "owner@shop.example" + tail, "password": "hunter22!"}
    with pytest.raises(BadRequest, match="email is invalid"):
        service.signup(body)


@pytest.mark.parametrize("tail", BREAKS)
def test_currency(tail):
    assert parse_currency("INR") == "INR"
    with pytest.raises(BadRequest):
        parse_currency("IN" + tail[:1])
    with pytest.raises(BadRequest):
        parse_currency("INR" + tail)


@pytest.mark.parametrize("tail", BREAKS)
def test_receipt(tail):
    assert parse_order_request({"amount": 100, "receipt": "rcpt-1"}).receipt == "rcpt-1"
    with pytest.raises(BadRequest, match="receipt"):
        parse_order_request({"amount": 100, "receipt": "rcpt-1" + tail})


@pytest.mark.parametrize("prefix", ["order", "pay", "rfnd", "evt"])
@pytest.mark.parametrize("tail", BREAKS)
def test_ids(prefix, tail):
    good = f"{prefix}_{'A' * 16}"
    assert ids.is_id(good, prefix)
    assert not ids.is_id(good + tail, prefix)


@pytest.mark.parametrize("tail", BREAKS)
def test_uuid_ids(tail):
    good = "550e8400-e29b-41d4-a716-446655440000"
    assert ids.is_id(good, "uuid")
    assert not ids.is_id(good + tail, "uuid")


@pytest.mark.parametrize("tail", BREAKS)
def test_idempotency_key(tail):
    assert check_key("key-1") == "key-1"
    with pytest.raises(BadRequest):
        check_key("key-1" + tail)


@pytest.mark.parametrize("tail", BREAKS)
def test_api_key_shape(tail):
    assert security.api_key_has_shape("key_test_abc123")
    assert not security.api_key_has_shape("key_test_abc123" + tail)


@pytest.mark.parametrize("tail", BREAKS)
def test_webhook_url(tail):
    assert check_url("https://shop.example/hook", allow_private=True)
    with pytest.raises(BadRequest):
        check_url("https://shop.example/hook" + tail, allow_private=True)
    with pytest.raises(BadRequest):
        check_url("https://shop.example" + tail, allow_private=True)


@pytest.mark.parametrize("tail", BREAKS)
def test_event_query_fields(tail):
    with pytest.raises(BadRequest):
        parse_time("2026-01-15T10:31:00Z" + tail, "created_gte")
    with pytest.raises(BadRequest):
        parse_time("1768473060" + tail, "created_gte")
    with pytest.raises(BadRequest):
        parse_event_query({"type": "payment.success" + tail})
    with pytest.raises(BadRequest):
        parse_event_query({"starting_after": "evt_" + "A" * 16 + tail})


@pytest.mark.parametrize("tail", BREAKS)
def test_page_parameters(tail):
    with pytest.raises(BadRequest):
        parse_page({"limit": "10" + tail})
    with pytest.raises(BadRequest):
        parse_page({"offset": "0" + tail})


@pytest.mark.parametrize("tail", BREAKS)
def test_enabled_events(tail):
    with pytest.raises(BadRequest):
        parse_enabled_events(["payment.success" + tail])


@pytest.mark.parametrize("tail", BREAKS)
def test_card_cvv_and_expiry(tail):
    card = {"number": "4111111111111111", "expiry_month": 12, "expiry_year": 2030}
    card |= {"holder_name": "Asha"}
    body = {"order_id": "order_x", "method": "card"}
    with pytest.raises(BadRequest, match="cvv"):
        rules.parse_payment_request({**body, "card": {**card, "cvv": "123" + tail}}, TODAY)
    with pytest.raises(ExpiredCard):
        rules.parse_payment_request(
            {**body, "card": {**card, "cvv": "123", "expiry_month": "12" + tail}}, TODAY
        )
