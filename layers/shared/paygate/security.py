"""Secrets: password hashing, dashboard tokens, key generation and constant-time comparison."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from paygate import clock

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


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
    """Whether `password` matches a `hash_password` result."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(merchant_id: str, key: str, ttl_seconds: int) -> str:
    """A short-lived bearer token `payload.signature` (HMAC-SHA256 over the payload)."""
    payload = _b64(json.dumps({"sub": merchant_id, "exp": clock.unix() + ttl_seconds}).encode())
    signature = _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())
    return payload + "." + signature


def verify_token(token: str, key: str) -> str | None:
    """The merchant id of a valid, unexpired token; None otherwise."""
    try:
        payload, signature = token.split(".")
        expected = _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or claims.get("exp", 0) < clock.unix():
        return None
    return claims.get("sub")


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
