"""Events as merchants read them back: the names, how long they are kept, and the list query
(`type`, `created_gte`, `created_lt`, `limit`, `starting_after`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paygate import clock, ids
from paygate.domain.pagination import parse_limit
from paygate.errors import BadRequest

# Every event webhooks deliver (CONTRACT §8); `openapi.yaml`'s `EventName` lists these and the
# notices.
EVENT_TYPES = (
    "payment.created",
    "payment.pending",
    "payment.success",
    "payment.failed",
    "order.paid",
    "refund.created",
    "refund.processed",
    "webhook.test",
)
# Recorded for the merchant (events API, dashboard), never delivered by webhooks.
NOTICE_TYPES = ("webhook_endpoint.disabled",)
LISTED_TYPES = EVENT_TYPES + NOTICE_TYPES
RETENTION = timedelta(days=30)
QUERY_PARAMETERS = ("type", "created_gte", "created_lt", "limit", "starting_after")
CURSOR_ERROR = "starting_after must be the id of one of your events"
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.ASCII
)
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True)
class EventQuery:
    """A validated list query; times are `clock.iso` strings (comparable with `created_at`)."""

    limit: int = 10
    type: str | None = None
    created_gte: str | None = None
    created_lt: str | None = None
    starting_after: str | None = None


def list_key(created_at: str, event_id: str) -> str:
    """The sort key of the merchant's events: time, then id, so that events of the same
    millisecond still have one fixed order and a cursor never skips or repeats one."""
    return f"{created_at}#{event_id}"


def expires_at(created: datetime) -> datetime:
    """When DynamoDB's TTL may delete an event created at `created`."""
    return created + RETENTION


def parse_time(raw: str, name: str) -> str:
    """`raw` (ISO-8601 with a zone, or unix seconds) as a `clock.iso` string, rounded up to
    the millisecond: stored times have millisecond precision, so `created_at >= t` and
    `created_at < t` mean the same with `t` and with the rounded value."""
    problem = (
        f"{name} must be an ISO-8601 timestamp with a zone (2026-01-15T10:31:00Z) or unix seconds"
    )
    if not isinstance(raw, str) or not raw or len(raw) > 40 or not raw.isascii():
        raise BadRequest(problem)
    if raw.isdigit():
        seconds = int(raw)
        if seconds > (_LATEST - _EARLIEST).total_seconds():
            raise BadRequest(problem)
        moment = _EARLIEST + timedelta(seconds=seconds)
    else:
        if not _ISO.fullmatch(raw.upper()):
            raise BadRequest(problem)
        try:
            moment = datetime.fromisoformat(raw.upper())
        except ValueError as exc:
            raise BadRequest(problem) from exc
        try:
            moment = moment.astimezone(UTC)
        except OverflowError as exc:
            raise BadRequest(problem) from exc
    moment = max(moment, _EARLIEST)  # no event is older; also keeps `%Y` four digits wide
    extra_ms = math.ceil((moment.microsecond % 1000) / 1000)
    if extra_ms and moment < _LATEST:
        moment += timedelta(milliseconds=extra_ms)
    return clock.iso(moment)


def parse_event_query(query: dict | None) -> EventQuery:
    """The list query, or BAD_REQUEST_ERROR naming what is wrong (nothing is read first)."""
    query = query or {}
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise BadRequest(
            f"Unknown query parameter {unknown[0]!r} (allowed: {', '.join(QUERY_PARAMETERS)})"
        )
    event_type = query.get("type")
    if event_type is not None and event_type not in LISTED_TYPES:
        raise BadRequest(f"type must be one of: {', '.join(LISTED_TYPES)}")
    cursor = query.get("starting_after")
    if cursor is not None and not ids.is_id(cursor, "evt"):
        raise BadRequest(CURSOR_ERROR)
    gte, lt = query.get("created_gte"), query.get("created_lt")
    return EventQuery(
        limit=parse_limit(query),
        type=event_type,
        created_gte=parse_time(gte, "created_gte") if gte is not None else None,
        created_lt=parse_time(lt, "created_lt") if lt is not None else None,
        starting_after=cursor,
    )
