"""Webhook signatures: the legacy hex HMAC and Standard Webhooks (`whsec_` secrets), and the
secrets of one endpoint during a rotation."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from paygate.errors import BadRequest

MAX_OVERLAP_SECONDS = 7 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600
# Secrets that may sign one delivery at once, the current one included: each adds a signature
# to every delivery, so rolls during overlaps cannot grow the header without bound.
MAX_SIGNING_SECRETS = 5
TOO_MANY_SECRETS = (
    f"At most {MAX_SIGNING_SECRETS} webhook secrets sign at once (the current one and those "
    "still in their overlap); wait until an older one expires, or roll with "
    '"expire_previous_in": 0 to revoke every previous secret now'
)


@dataclass(frozen=True)
class PreviousSecret:
    """A replaced secret that still signs until `expires_at` (unix seconds), as promised by
    the roll that replaced it."""

    secret: str
    expires_at: float


@dataclass(frozen=True)
class SigningSecrets:
    """The secrets one webhook endpoint signs with: `current`, and the secrets it replaced
    (`previous`, newest first), each until the expiry its roll promised, so receivers can roll
    without downtime. A roll never shortens a promise already made, except a revocation."""

    current: str
    previous: tuple[PreviousSecret, ...] = ()

    def in_use(self, now: float) -> tuple[str, ...]:
        """The secrets that sign a delivery made at `now`, newest first."""
        return (self.current, *(p.secret for p in self._valid(now)))

    def previous_expires_at(self, now: float) -> float | None:
        """When the newest previous secret still signing at `now` stops; None if none does."""
        valid = self._valid(now)
        return valid[0].expires_at if valid else None

    def rolled(
        self, new_secret: str, overlap_seconds: int, now: float, too_many: str = TOO_MANY_SECRETS
    ) -> SigningSecrets:
        """After a rotation at `now`: `new_secret` signs, the current one also signs for
        `overlap_seconds` more, and every previous secret keeps its own expiry (expired ones
        are dropped). No overlap revokes every previous secret. BadRequest(`too_many`) when
        more than MAX_SIGNING_SECRETS would be in use at once. The API secret rolls by the
        same rule (`in_use` is then the secrets that authenticate an API call)."""
        if overlap_seconds <= 0:
            return SigningSecrets(new_secret)
        previous = (PreviousSecret(self.current, now + overlap_seconds), *self._valid(now))
        if 1 + len(previous) > MAX_SIGNING_SECRETS:
            raise BadRequest(too_many)
        return SigningSecrets(new_secret, previous)

    def _valid(self, now: float) -> tuple[PreviousSecret, ...]:
        return tuple(p for p in self.previous if p.secret and now < p.expires_at)


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
    current secret; `webhook-signature` carries one `v1,` signature per secret in use, newest
    first (space-separated, as Standard Webhooks allows), so any of them verifies during a roll."""
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
