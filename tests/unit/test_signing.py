"""Webhook signatures, checked by the standardwebhooks library and by a plain HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from infra.local.webhook_receiver import verify_legacy, verify_standard
from paygate import clock, security
from paygate.signing import standard_key, webhook_headers

BODY = json.dumps(
    {
        "id": "evt_1",
        "event": "payment.success",
        "timestamp": 1,
        "data": {"payment": {"id": "pay_1", "note": "₹ ü"}},
    },
    separators=(",", ":"),
    ensure_ascii=False,
).encode()


def test_standard_webhooks_library_verifies_our_signature():
    secret = security.new_webhook_secret()
    headers = webhook_headers(BODY, secret, "evt_1", clock.unix())
    payload = Webhook(secret).verify(BODY, headers)
    assert payload["data"]["payment"]["note"] == "₹ ü"


def test_library_rejects_a_tampered_body():
    secret = security.new_webhook_secret()
    headers = webhook_headers(BODY, secret, "evt_1", clock.unix())
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"pay_1", b"pay_2"), headers)


def test_plain_hmac_over_the_raw_body_matches_legacy_header():
    secret = security.new_webhook_secret()
    headers = webhook_headers(BODY, secret, "evt_1", 1700000000)
    expected = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers["X-Webhook-Signature"] == expected
    assert verify_legacy(BODY, {k.lower(): v for k, v in headers.items()}, secret)
    assert verify_standard(BODY, {k.lower(): v for k, v in headers.items()}, secret) is True


def test_legacy_seeded_secret_gets_only_the_legacy_header():
    headers = webhook_headers(BODY, "whsec_test_abc123", "evt_1", 1700000000)
    assert standard_key("whsec_test_abc123") is None
    assert set(headers) == {"Content-Type", "X-Webhook-Signature"}
    assert (
        headers["X-Webhook-Signature"]
        == hmac.new(b"whsec_test_abc123", BODY, hashlib.sha256).hexdigest()
    )


def test_webhook_id_is_the_event_id():
    secret = security.new_webhook_secret()
    headers = webhook_headers(BODY, secret, "evt_abc", 1700000000)
    assert headers["webhook-id"] == "evt_abc" and headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")
