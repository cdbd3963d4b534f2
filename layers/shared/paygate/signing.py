"""Webhook signatures: the legacy hex HMAC and Standard Webhooks (`whsec_` secrets)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def legacy_signature(body: bytes, secret: str) -> str:
    """Lower-case hex HMAC-SHA256 of the exact body, keyed by the whole secret string."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes | None:
    """The key of a `whsec_<base64>` secret; None when the secret is not in that form."""
    if not secret.startswith("whsec_"):
        return None
    try:
        key = base64.b64decode(secret[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def standard_signature(body: bytes, secret: str, msg_id: str, timestamp: int) -> str | None:
    """`v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">`, or None for a legacy secret."""
    key = standard_key(secret)
    if key is None:
        return None
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_headers(body: bytes, secret: str, event_id: str, timestamp: int) -> dict[str, str]:
    """Every header of one delivery attempt."""
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Signature": legacy_signature(body, secret),
    }
    standard = standard_signature(body, secret, event_id, timestamp)
    if standard:
        headers.update(
            {
                "webhook-id": event_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": standard,
            }
        )
    return headers
