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


# ------------------------------------------------------------------ rotation with overlap
def rolled_secrets(overlap: int = 3600, now: float = 1_700_000_000):
    from paygate.signing import SigningSecrets

    old = security.new_webhook_secret()
    new = security.new_webhook_secret()
    return old, new, SigningSecrets(old).rolled(new, overlap, now)


def test_during_the_overlap_both_secrets_verify_with_the_official_library():
    old, new, secrets = rolled_secrets(now=clock.unix() - 10)
    headers = webhook_headers(BODY, secrets, "evt_roll", clock.unix())
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert Webhook(new).verify(BODY, headers)["id"] == "evt_1"
    assert Webhook(old).verify(BODY, headers)["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(security.new_webhook_secret()).verify(BODY, headers)
    # the legacy header is the new secret's only
    assert (
        headers["X-Webhook-Signature"] == hmac.new(new.encode(), BODY, hashlib.sha256).hexdigest()
    )
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verify_standard(BODY, lowered, old) and verify_standard(BODY, lowered, new)
    # the local receiver, given both secrets, accepts both schemes during the overlap
    assert verify_legacy(BODY, lowered, [old, new]) and not verify_legacy(BODY, lowered, old)
    assert verify_standard(BODY, lowered, [security.new_webhook_secret(), old]) is True


def test_after_the_overlap_only_the_new_secret_signs():
    old, new, secrets = rolled_secrets(overlap=60, now=1_700_000_000)
    assert secrets.in_use(1_700_000_059) == (new, old)
    assert secrets.in_use(1_700_000_060) == (new,)
    headers = webhook_headers(BODY, secrets, "evt_roll", 1_700_000_060)
    assert " " not in headers["webhook-signature"]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verify_standard(BODY, lowered, new) and not verify_standard(BODY, lowered, old)


def test_a_zero_overlap_revokes_every_previous_secret_at_once():
    old, new, secrets = rolled_secrets(overlap=0, now=1_700_000_000)
    assert secrets.in_use(1_699_999_999) == (new,) and secrets.previous == ()
    newest = security.new_webhook_secret()
    again = secrets.rolled(newest, 600, 1_700_000_100)
    assert again.in_use(1_700_000_200) == (newest, new)  # `old` was revoked for good
    revoked = again.rolled(security.new_webhook_secret(), 0, 1_700_000_300)
    assert len(revoked.in_use(1_700_000_300)) == 1 and revoked.previous == ()
    assert revoked.previous_expires_at(1_700_000_300) is None


# ------------------------------------------------------------------ several rolls in a row
def roll_chain(*overlaps: int, start: float = 1_700_000_000, step: float = 10):
    """Roll a fresh secret once per overlap, `step` seconds apart: (secrets, every secret
    oldest first, the time of each roll)."""
    from paygate.signing import SigningSecrets

    made = [security.new_webhook_secret()]
    secrets, times = SigningSecrets(made[0]), []
    for n, overlap in enumerate(overlaps):
        made.append(security.new_webhook_secret())
        times.append(start + n * step)
        secrets = secrets.rolled(made[-1], overlap, times[-1])
    return secrets, made, times


def test_a_roll_never_shortens_the_promise_made_to_an_older_secret():
    secrets, (s0, a, b, c), (t1, t2, t3) = roll_chain(3600, 3600, 3600, start=clock.unix() - 30)
    # every secret signs, newest first, each until its own promised expiry
    assert secrets.in_use(t3) == (c, b, a, s0)
    assert secrets.in_use(t1 + 3599) == (c, b, a, s0)
    assert secrets.in_use(t1 + 3600) == (c, b, a)  # S0's promise (first roll) is over
    assert secrets.in_use(t2 + 3600) == (c, b)
    assert secrets.in_use(t3 + 3600) == (c,)
    # what a delivery carries: one signature per secret in use; the legacy header the newest
    headers = webhook_headers(BODY, secrets, "evt_1", int(t3))
    lowered = {k.lower(): v for k, v in headers.items()}
    assert len(headers["webhook-signature"].split(" ")) == 4
    for secret in (s0, a, b, c):
        assert Webhook(secret).verify(BODY, headers)["id"] == "evt_1"
    assert verify_legacy(BODY, lowered, c) and not verify_legacy(BODY, lowered, [s0, a, b])


def test_a_shorter_later_overlap_ends_only_the_secret_it_replaced():
    secrets, (s0, a, b, c), (t1, t2, t3) = roll_chain(3600, 5, 3600, step=1)
    assert secrets.in_use(t3) == (c, b, a, s0)
    assert secrets.in_use(t2 + 5) == (c, b, s0)  # A's own 5 s are over, S0 still promised
    assert secrets.previous_expires_at(t3) == t3 + 3600  # the secret just replaced (B)


def test_expired_previous_secrets_are_dropped_when_rolling():
    secrets, (s0, a, b), (t1, t2) = roll_chain(60, 3600, step=100)
    assert [p.secret for p in secrets.previous] == [a]  # S0 had expired at the second roll
    assert secrets.previous[0].expires_at == t2 + 3600


def test_at_most_five_secrets_sign_and_a_roll_past_that_is_refused():
    from paygate.errors import BadRequest
    from paygate.signing import MAX_SIGNING_SECRETS

    assert MAX_SIGNING_SECRETS == 5
    secrets, made, times = roll_chain(3600, 3600, 3600, 3600)
    assert secrets.in_use(times[-1]) == tuple(reversed(made))
    with pytest.raises(BadRequest) as refused:
        secrets.rolled(security.new_webhook_secret(), 3600, times[-1] + 1)
    assert "expire_previous_in" in refused.value.description
    # revoking is always possible, and once one promise is over there is room again
    assert len(secrets.rolled(security.new_webhook_secret(), 0, times[-1]).in_use(times[-1])) == 1
    later = secrets.rolled(security.new_webhook_secret(), 3600, times[0] + 3600)
    assert len(later.in_use(times[0] + 3600)) == 5 and made[0] not in later.in_use(times[0] + 3600)


def test_a_legacy_previous_secret_adds_no_standard_signature():
    from paygate.signing import SigningSecrets

    new = security.new_webhook_secret()
    secrets = SigningSecrets("whsec_test_abc123").rolled(new, 3600, 1_700_000_000)
    headers = webhook_headers(BODY, secrets, "evt_1", 1_700_000_001)
    assert " " not in headers["webhook-signature"]
    assert verify_standard(BODY, {k.lower(): v for k, v in headers.items()}, new)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, 86400),
        ({}, 86400),
        ({"expire_previous_in": 0}, 0),
        ({"expire_previous_in": 604800}, 604800),
    ],
)
def test_overlap_of_a_regenerate_request(body, expected):
    from paygate.services.webhooks import overlap_seconds

    assert overlap_seconds(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"expire_previous_in": -1},
        {"expire_previous_in": 604801},
        {"expire_previous_in": "60"},
        {"expire_previous_in": 1.5},
        {"expire_previous_in": 60.0},
        {"expire_previous_in": True},
        {"expire_previous_in": None},
        [],
        "x",
    ],
)
def test_bad_overlaps_are_refused(body):
    from paygate.errors import BadRequest
    from paygate.services.webhooks import overlap_seconds

    with pytest.raises(BadRequest):
        overlap_seconds(body)
