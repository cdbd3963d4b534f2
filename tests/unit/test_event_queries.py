"""The events API's list query: names, times, limits and cursors; every bad value is a 400."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paygate import clock, ids
from paygate.domain.events import (
    CURSOR_ERROR,
    EVENT_TYPES,
    EventQuery,
    expires_at,
    list_key,
    parse_event_query,
    parse_time,
)
from paygate.errors import BadRequest


def test_defaults():
    assert parse_event_query(None) == EventQuery(limit=10)
    assert parse_event_query({}) == EventQuery(limit=10)


def test_every_parameter():
    cursor = ids.new_id("evt")
    query = parse_event_query(
        {
            "type": "payment.success",
            "created_gte": "2026-01-15T10:31:00Z",
            "created_lt": "1768473060",
            "limit": "100",
            "starting_after": cursor,
        }
    )
    assert query == EventQuery(
        limit=100,
        type="payment.success",
        created_gte="2026-01-15T10:31:00.000Z",
        created_lt="2026-01-15T10:31:00.000Z",
        starting_after=cursor,
    )


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2026-01-15T10:31:00Z", "2026-01-15T10:31:00.000Z"),
        ("2026-01-15T10:31:00.5Z", "2026-01-15T10:31:00.500Z"),
        ("2026-01-15T10:31:00.123Z", "2026-01-15T10:31:00.123Z"),
        # Stored times have millisecond precision: a finer bound rounds up, which keeps
        # `created_at >= t` and `created_at < t` exactly as asked.
        ("2026-01-15T10:31:00.123001Z", "2026-01-15T10:31:00.124Z"),
        ("2026-01-15T16:01:00+05:30", "2026-01-15T10:31:00.000Z"),
        ("2026-01-15t10:31:00z", "2026-01-15T10:31:00.000Z"),
        ("0", "1970-01-01T00:00:00.000Z"),
        ("1768473060", "2026-01-15T10:31:00.000Z"),
        # Before 1970 nothing exists: clamped, and never a short year that sorts wrongly.
        ("0999-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.9999Z", "9999-12-31T23:59:59.999Z"),
    ],
)
def test_times(raw, expected):
    assert parse_time(raw, "created_gte") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "yesterday",
        "2026-01-15",  # no time, no zone: ambiguous
        "2026-01-15T10:31:00",  # no zone
        "2026-13-01T00:00:00Z",
        "-1",
        "1.5",
        "1e9",
        "١٧٦٨٤٧٣٠٦٠",  # Arabic-Indic digits: isdigit() is True
        "99999999999999999999",
        "1" * 41,
        "2026-01-15T10:31:00Z\x00",
        "0001-01-01T00:00:00+23:59",  # year 0 in UTC
        "2026-01-15T10:31:00.1234567Z",
        "2026-W03-4T10:31:00Z",
    ],
)
def test_bad_times_are_400(raw):
    with pytest.raises(BadRequest, match="created_lt must be"):
        parse_event_query({"created_lt": raw})


@pytest.mark.parametrize(
    "query,message",
    [
        ({"type": "payment.succeeded"}, "type must be one of"),
        ({"type": ""}, "type must be one of"),
        ({"type": "payment.*"}, "type must be one of"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"starting_after": "evt_short"}, CURSOR_ERROR),
        ({"starting_after": "pay_" + "a" * 16}, CURSOR_ERROR),
        ({"starting_after": "evt_" + "a" * 15 + "!"}, CURSOR_ERROR),
        ({"starting_after": ""}, CURSOR_ERROR),
        ({"offset": "10"}, "Unknown query parameter 'offset'"),
        ({"created_gt": "0"}, "Unknown query parameter 'created_gt'"),
    ],
)
def test_bad_queries_are_400(query, message):
    with pytest.raises(BadRequest, match=message.replace("*", r"\*")):
        parse_event_query(query)


def test_every_event_name_is_a_valid_type():
    for name in EVENT_TYPES:
        assert parse_event_query({"type": name}).type == name


def test_list_keys_order_by_time_then_id():
    a = list_key("2026-01-15T10:31:00.000Z", "evt_B" + "a" * 15)
    b = list_key("2026-01-15T10:31:00.000Z", "evt_a" + "a" * 15)
    c = list_key("2026-01-15T10:31:00.001Z", "evt_A" + "a" * 15)
    assert sorted([c, b, a]) == [a, b, c]
    # A time bound sorts before every event of that millisecond and after every earlier one.
    assert a > "2026-01-15T10:31:00.000Z" and b < "2026-01-15T10:31:00.001Z"


def test_events_expire_after_30_days():
    created = datetime(2026, 1, 15, 10, 31, tzinfo=UTC)
    assert clock.iso(expires_at(created)) == "2026-02-14T10:31:00.000Z"


class NoReads:
    """A repository that fails the test if the service reads anything."""

    def get(self, event_id):
        raise AssertionError(f"read {event_id!r}")

    def page(self, *args, **kwargs):
        raise AssertionError("listed")


@pytest.mark.parametrize("event_id", ["evt_short", "EVT_" + "a" * 16, "../evt", "evt_" + "é" * 16])
def test_malformed_ids_are_not_found_without_a_read(event_id):
    from types import SimpleNamespace

    from paygate.errors import NotFound
    from paygate.services.events import EventService

    service = EventService(NoReads())
    merchant = SimpleNamespace(id="m1")
    with pytest.raises(NotFound):
        service.get(merchant, event_id)
    with pytest.raises(BadRequest, match=CURSOR_ERROR):
        service.list(merchant, {"starting_after": event_id})
    with pytest.raises(BadRequest, match="limit"):
        service.list(merchant, {"limit": "1000"})
