"""Ids, money, orders, pagination, settings, tokens, passwords, queues' delays, JSON."""

from __future__ import annotations

import re
import time

import pytest

from paygate import ids, security
from paygate.domain.orders import parse_order_request
from paygate.domain.pagination import parse_page
from paygate.errors import BadRequest
from paygate.jsonutil import dumps
from paygate.queues import delay_seconds
from paygate.settings import Settings, SettingsError


@pytest.mark.parametrize("prefix", ["order", "pay", "rfnd", "evt"])
def test_ids(prefix):
    made = {ids.new_id(prefix) for _ in range(200)}
    assert len(made) == 200
    assert all(re.fullmatch(prefix + r"_[A-Za-z0-9]{16}", i) for i in made)


@pytest.mark.parametrize(
    "body,message",
    [
        ({"amount": 99}, "at least 100"),
        ({"amount": "100"}, "integer"),
        ({"amount": 100.0}, "integer"),
        ({"amount": True}, "integer"),
        ({}, "integer"),
        ({"amount": 100, "notes": [1]}, "notes"),
        ({"amount": 100, "notes": "x"}, "notes"),
        ({"amount": 100, "currency": "inr"}, "currency"),
        ({"amount": 100, "receipt": 5}, "receipt"),
        ([], "object"),
    ],
)
def test_order_validation(body, message):
    with pytest.raises(BadRequest, match=message):
        parse_order_request(body)


def test_order_defaults():
    order = parse_order_request({"amount": 100})
    assert (order.amount, order.currency, order.receipt, order.notes) == (100, "INR", None, {})


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"offset": "-1"}, {"limit": "1.5"}]
)
def test_pagination_bounds(query):
    with pytest.raises(BadRequest):
        parse_page(query)


def test_pagination_defaults():
    assert parse_page(None) == (10, 0)
    assert parse_page({"limit": "100", "offset": "7"}) == (100, 7)


def test_settings_validate():
    s = Settings.from_env(
        {
            "TEST_MODE": "true",
            "TEST_PROCESSING_DELAY": "250",
            "CORS_ALLOWED_ORIGINS": "http://a, http://b",
        }
    )
    assert s.test_mode and s.test_processing_delay_ms == 250
    assert s.cors_allowed_origins == ("http://a", "http://b")
    for bad in (
        {"TEST_MODE": "maybe"},
        {"TEST_PROCESSING_DELAY": "-1"},
        {"WORKER_STATUS_SOURCE": "guess"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)


def test_tokens():
    token = security.sign_token("m1", 3, "k" * 32, 60)
    assert security.verify_token(token, "k" * 32) == ("m1", 3)
    assert security.verify_token(token, "j" * 32) is None
    assert security.verify_token(token[:-2] + "xx", "k" * 32) is None
    assert security.verify_token("garbage", "k" * 32) is None
    assert security.verify_token(token, "") is None
    expired = security.sign_token("m1", 3, "k" * 32, -1)
    assert security.verify_token(expired, "k" * 32) is None
    with pytest.raises(ValueError):
        security.sign_token("m1", 0, "", 60)


def test_passwords():
    stored = security.hash_password("correct horse")
    assert security.verify_password("correct horse", stored)
    assert not security.verify_password("wrong horse", stored)
    assert not security.verify_password("x", None)


def test_constant_time_compare_uses_hmac(monkeypatch):
    calls = []
    import hmac

    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    assert security.same("abc", "abc") and not security.same("abc", "abd")
    assert len(calls) == 2
    assert not security.same(None, "x")


def test_webhook_secret_form():
    import base64

    secret = security.new_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32


@pytest.mark.parametrize(
    "ms,seconds", [(0, 0), (1, 1), (500, 1), (1000, 1), (1001, 2), (10_000_000, 900)]
)
def test_delay_seconds(ms, seconds):
    assert delay_seconds(ms) == seconds


def test_compact_json():
    assert dumps({"a": [1, 2], "b": "₹"}) == '{"a":[1,2],"b":"₹"}'


def test_clock_iso_format():
    from paygate import clock

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", clock.iso())
    assert abs(clock.unix() - time.time()) < 2


def test_id_shapes():
    assert ids.is_id(ids.new_id("pay"), "pay") and ids.is_id(ids.new_uuid(), "uuid")
    for bad in ("pay_short", "order_" + "a" * 16, "pay_" + "a" * 2048, None, 5, "pay_" + "é" * 16):
        assert not ids.is_id(bad, "pay")


def test_an_orphan_message_is_dropped_before_the_redrive_policy_calls_it_poison():
    from paygate.batch import RETRY_BASE_SECONDS
    from paygate.services.jobs import ORPHAN_AFTER_SECONDS

    max_receive_count = 5  # template.yaml's RedrivePolicy
    at, receives = 0.0, []
    for count in range(1, max_receive_count + 1):
        receives.append(at)
        at += RETRY_BASE_SECONDS ** (count - 1)
    assert receives[0] < 2  # the common race with a commit is retried within a second
    assert receives[-1] > ORPHAN_AFTER_SECONDS  # the last allowed receive drops it
    assert ORPHAN_AFTER_SECONDS > 10  # the API function's timeout: no write lands later
