"""Secrets: password hashing, dashboard tokens, key generation and constant-time comparison."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets

from paygate import clock

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
# Checked when there is no stored hash (unknown email, no password set), so a failed sign-in
# costs one scrypt whatever the reason and its timing tells nothing. Matches no password.
_NO_PASSWORD = "scrypt$" + "00" * 16 + "$" + "00" * 32
# The shapes of the keys and secrets Paygate issues (`key_test_abc123`, `key_live_<24 hex>`):
# anything else is refused before it reaches a database key (DynamoDB caps keys at 2 KB).
_API_KEY = re.compile(r"key_[a-z]{2,8}_[A-Za-z0-9]{1,64}")
MAX_API_SECRET_LENGTH = 128


def same(a: str | None, b: str | None) -> bool:
    """Constant-time string equality (False if either is missing)."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def hash_password(password: str) -> str:
    """`scrypt$<salt>$<hash>` with a random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + salt.hex() + "$" + digest.hex()


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches a `hash_password` result. Runs scrypt even when there is no
    usable hash, so the answer takes as long either way."""
    usable = bool(stored) and stored.startswith("scrypt$") and stored.count("$") == 2
    _, salt, digest = (stored if usable else _NO_PASSWORD).split("$")
    try:
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        usable, salt_bytes = False, bytes(16)
    candidate = hashlib.scrypt(password.encode(), salt=salt_bytes, **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest) and usable


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(merchant_id: str, version: int, key: str, ttl_seconds: int) -> str:
    """A short-lived bearer token `payload.signature` (HMAC-SHA256 over the payload). `version`
    is the merchant's token version: bumping it revokes every token issued before."""
    if not key:
        raise ValueError("refusing to sign a token with an empty key")
    claims = {"sub": merchant_id, "ver": int(version), "exp": clock.unix() + ttl_seconds}
    payload = _b64(json.dumps(claims).encode())
    signature = _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())
    return payload + "." + signature


def verify_token(token: str, key: str) -> tuple[str, int] | None:
    """(merchant id, token version) of a valid, unexpired token; None otherwise."""
    if not key:
        return None
    try:
        payload, signature = token.split(".")
        expected = _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    sub, version, expires = claims.get("sub"), claims.get("ver"), claims.get("exp")
    if not isinstance(sub, str) or type(version) is not int or type(expires) is not int:
        return None
    if expires < clock.unix():
        return None
    return sub, version


def api_key_has_shape(api_key: str | None) -> bool:
    """Whether `api_key` looks like a key Paygate issues (checked before any lookup)."""
    return bool(api_key) and _API_KEY.fullmatch(api_key) is not None


def new_api_key() -> str:
    return "key_live_" + secrets.token_hex(12)


def new_api_secret() -> str:
    return "secret_live_" + secrets.token_hex(24)


def new_webhook_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (the Standard Webhooks form)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


CARD_SECRETS = ("number", "cvv")


def redact_card(body: object, key: str) -> object:
    """`body` with the card number and CVV replaced by keyed HMACs: still tells two requests
    apart, but cannot be brute-forced from a stored hash without the key."""
    if not isinstance(body, dict) or not isinstance(body.get("card"), dict):
        return body
    card = dict(body["card"])
    for field in CARD_SECRETS:
        if field in card:
            value = json.dumps(card[field]).encode()
            card[field] = "hmac:" + hmac.new(key.encode(), value, hashlib.sha256).hexdigest()
    return {**body, "card": card}
