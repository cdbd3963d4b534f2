"""Identifiers of CONTRACT §3: a prefix and 16 random alphanumerics, or a UUID."""

from __future__ import annotations

import re
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


_SHAPES = {
    prefix: re.compile(prefix + r"_[A-Za-z0-9]{16}")
    for prefix in ("order", "pay", "rfnd", "evt", "we")
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_id(value: object, prefix: str) -> bool:
    """Whether `value` has the shape of an id made by `new_id(prefix)` (or `new_uuid()` for
    prefix "uuid"): anything else cannot exist, so it is not worth a database read."""
    shape = _UUID if prefix == "uuid" else _SHAPES[prefix]
    return isinstance(value, str) and shape.fullmatch(value) is not None
