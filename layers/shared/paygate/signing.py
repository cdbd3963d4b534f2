"""Webhook signatures: the legacy hex HMAC and Standard Webhooks (`whsec_` secrets), and the
secrets of one endpoint during a rotation."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

MAX_OVERLAP_SECONDS = 7 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SigningSecrets:
    """The secrets one webhook endpoint signs with: `current`, and until `previous_expires_at`
    (unix seconds) the secret it replaced, so receivers can roll without downtime."""

    current: str
    previous: str | None = None
    previous_expires_at: float | None = None

    def in_use(self, now: float) -> tuple[str, ...]:
        """The secrets that sign a delivery made at `now`, the current one first."""
        if self.previous and self.previous_expires_at and now < self.previous_expires_at:
            return (self.current, self.previous)
        return (self.current,)

    def rolled(self, new_secret: str, overlap_seconds: int, now: float) -> SigningSecrets:
        """After a rotation at `now`: `new_secret` signs, and the current one also signs for
        `overlap_seconds` more (an older previous secret is dropped). No overlap keeps none."""
        if overlap_seconds <= 0:
            return SigningSecrets(new_secret)
        return SigningSecrets(new_secret, self.current, now + overlap_seconds)


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


def webhook_headers(
    body: bytes, secrets: SigningSecrets | str, event_id: str, timestamp: int
) -> dict[str, str]:
    """Every header of one delivery attempt made at `timestamp`. `X-Webhook-Signature` uses the
    current secret; `webhook-signature` carries one `v1,` signature per secret in use
    (space-separated, as Standard Webhooks allows), so either secret verifies during a roll."""
    if isinstance(secrets, str):
        secrets = SigningSecrets(secrets)
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Signature": legacy_signature(body, secrets.current),
    }
    standard = [
        signature
        for secret in secrets.in_use(timestamp)
        if (signature := standard_signature(body, secret, event_id, timestamp))
    ]
    if standard:
        headers.update(
            {
                "webhook-id": event_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": " ".join(standard),
            }
        )
    return headers
