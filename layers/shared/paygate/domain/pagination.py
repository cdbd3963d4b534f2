"""`limit` 1–100 (default 10) and `offset` >= 0 (default 0), in decimal digits without leading
zeros, else BAD_REQUEST_ERROR."""

from __future__ import annotations

from paygate.errors import BadRequest


def _int_param(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    # "²".isdigit() is True (int("²") fails); "05" is refused as "+5" is: one way to write it.
    if not (raw.isascii() and raw.isdigit()) or (raw.startswith("0") and raw != "0"):
        raise BadRequest(
            f"{name} must be an integer between {low} and {high}, without leading zeros"
        )
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be an integer between {low} and {high}")
    return value


def parse_limit(query: dict | None) -> int:
    """`limit` from query-string parameters (cursor-paginated lists take no offset)."""
    return _int_param((query or {}).get("limit"), "limit", 10, 1, 100)


def parse_page(query: dict | None) -> tuple[int, int]:
    """(limit, offset) from query-string parameters."""
    query = query or {}
    limit = parse_limit(query)
    offset = _int_param(query.get("offset"), "offset", 0, 0, 10_000)
    return limit, offset
