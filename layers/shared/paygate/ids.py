"""Identifiers of CONTRACT §3: a prefix and 16 random alphanumerics, or a UUID."""

from __future__ import annotations

import secrets
import string
import uuid

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """`prefix_` followed by 16 random characters of [A-Za-z0-9], e.g. `pay_Ab3...`."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def new_uuid() -> str:
    """A random UUID string (webhook log ids, merchant ids)."""
    return str(uuid.uuid4())
