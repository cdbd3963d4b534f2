"""`paygate listen`: forwarding, signatures, resuming, late events; against an in-memory events
API that pages exactly as the real one (newest first by (created_at, id), `starting_after`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import stat
from datetime import UTC, datetime, timedelta

import pytest
import requests
from paygate_cli.api import ApiError, PaygateApi
from paygate_cli.listen import Listener, format_iso
from paygate_cli.main import parse_since
from paygate_cli.state import StateFile, config_dir, state_path
from standardwebhooks.webhooks import Webhook

from tests.unit.cli_fakes import Answer

T0 = datetime(2026, 1, 15, 10, 31, tzinfo=UTC)


class FakeEventsApi(requests.Session):
    """`GET /api/v1/events` over a list of events; `visible` decides what has committed."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []
        self.status = 200
        self.calls = 0

    def add(self, name: str, at: datetime, data: dict | None = None) -> dict:
        event_id = "evt_" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=16))
        body = {"id": event_id, "event": name, "timestamp": int(at.timestamp()), "data": data or {}}
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        event = {**body, "created_at": format_iso(at), "payload": payload}
        self.events.append(event)
        return event

    def request(self, method, url, timeout=None, params=None, **kwargs):
        self.calls += 1
        assert method == "GET" and url.endswith("/api/v1/events"), url
        assert self.headers["X-Api-Key"] == "key_1" and self.headers["X-Api-Secret"] == "sec_1"
        if self.status != 200:
            return Answer(self.status, {"error": {"code": "X", "description": "down"}})
        params = params or {}
        rows = sorted(self.events, key=lambda e: (e["created_at"], e["id"]), reverse=True)
        if "created_gte" in params:
            rows = [e for e in rows if e["created_at"] >= params["created_gte"]]
        if "created_lt" in params:
            rows = [e for e in rows if e["created_at"] < params["created_lt"]]
        if "starting_after" in params:
            ids = [e["id"] for e in rows]
            cursor = next(e for e in self.events if e["id"] == params["starting_after"])
            key = (cursor["created_at"], cursor["id"])
            rows = [e for e in rows if (e["created_at"], e["id"]) < key]
            assert ids  # the cursor came from an earlier page
        limit = int(params.get("limit", 10))
        return Answer(200, {"data": rows[:limit], "has_more": len(rows) > limit, "limit": limit})


class Receiver:
    """What the local webhook URL got, and what it answers."""

    def __init__(self) -> None:
        self.got: list[tuple[bytes, dict]] = []
        self.status = 200

    def post(self, url, data, headers, timeout, allow_redirects):
        assert url == "http://localhost:9000/hooks" and allow_redirects is False
        if self.status is None:
            raise requests.ConnectionError("refused")
        self.got.append((data, headers))
        return Answer(self.status, {})

    @property
    def ids(self) -> list[str]:
        return [json.loads(body)["id"] for body, _ in self.got]


@pytest.fixture
def server():
    return FakeEventsApi()


@pytest.fixture
def receiver():
    return Receiver()


@pytest.fixture
def store(tmp_path):
    return StateFile(state_path("http://api.test", "key_1", tmp_path))


def listener(server, receiver, store, lines=None, **kwargs) -> Listener:
    api = PaygateApi("http://api.test/", "key_1", "sec_1", session=server)
    out = lines.append if lines is not None else (lambda line: None)
    return Listener(
        api, "http://localhost:9000/hooks", store, out=out, post=receiver.post, **kwargs
    )


def test_first_start_forwards_only_new_events_signed_both_ways(server, receiver, store):
    old = [server.add("payment.created", T0 + timedelta(seconds=i)) for i in range(3)]
    lines: list[str] = []
    listening = listener(server, receiver, store, lines)
    state = listening.start()
    assert state.secret.startswith("whsec_") and state.high_water == old[-1]["created_at"]
    assert listening.poll_once() == 0 and receiver.got == []

    new = [
        server.add("payment.success", T0 + timedelta(seconds=10), {"payment": {"note": "₹ é"}}),
        server.add("refund.created", T0 + timedelta(seconds=11)),
    ]
    assert listening.poll_once() == 2
    assert receiver.ids == [e["id"] for e in new]
    for (body, headers), event in zip(receiver.got, new, strict=True):
        assert body == event["payload"].encode()  # the exact bytes webhooks deliver
        expected = hmac.new(state.secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Webhook-Signature"] == expected
        assert headers["webhook-id"] == event["id"]
        Webhook(state.secret).verify(body, headers)  # raises when it does not verify
    assert len(lines) == 2 and "payment.success" in lines[0] and "[200]" in lines[0]
    assert new[0]["id"] in lines[0] and "http://localhost:9000/hooks" in lines[0]


def test_nothing_is_forwarded_twice(server, receiver, store):
    listening = listener(server, receiver, store)
    listening.start()
    for i in range(25):
        server.add("payment.pending", T0 + timedelta(milliseconds=i // 5))  # ties
        listening.poll_once()
    listening.poll_once()
    assert sorted(receiver.ids) == sorted(e["id"] for e in server.events)
    assert len(set(receiver.ids)) == 25


def test_a_late_event_within_the_lookback_is_forwarded_once(server, receiver, store):
    """created_at is taken before the write commits: an older event can show up later."""
    listening = listener(server, receiver, store)
    listening.start()
    newer = server.add("payment.success", T0 + timedelta(seconds=5))
    listening.poll_once()
    late = server.add("payment.created", T0 + timedelta(seconds=4, milliseconds=500))
    listening.poll_once()
    listening.poll_once()
    assert receiver.ids == [newer["id"], late["id"]]


def test_a_restart_resumes_after_the_last_event_with_the_same_secret(server, receiver, store):
    first = listener(server, receiver, store)
    secret = first.start().secret
    seen = server.add("payment.created", T0)
    first.poll_once()
    # Stopped; meanwhile events keep happening.
    missed = [server.add("payment.success", T0 + timedelta(seconds=s)) for s in (60, 3600)]
    again = listener(server, receiver, store)
    assert again.start().secret == secret
    again.poll_once()
    assert receiver.ids == [seen["id"], *[e["id"] for e in missed]]


def test_from_now_skips_the_backlog_but_keeps_the_secret(server, receiver, store):
    first = listener(server, receiver, store)
    secret = first.start().secret
    server.add("payment.created", T0)
    fresh = listener(server, receiver, store)
    assert fresh.start(from_now=True).secret == secret
    assert fresh.poll_once() == 0 and receiver.got == []


def test_since_replays_from_a_time(server, receiver, store):
    events = [server.add("payment.created", T0 + timedelta(minutes=m)) for m in range(5)]
    replay = listener(server, receiver, store)
    replay.start(since=events[2]["created_at"])
    replay.poll_once()
    assert receiver.ids == [e["id"] for e in events[2:]]


def test_only_the_chosen_events_are_forwarded_but_all_are_passed(server, receiver, store):
    listening = listener(server, receiver, store, events={"refund.processed"})
    listening.start()
    server.add("payment.success", T0)
    wanted = server.add("refund.processed", T0 + timedelta(seconds=1))
    listening.poll_once()
    assert receiver.ids == [wanted["id"]]
    assert listening.poll_once() == 0


@pytest.mark.parametrize("answer", [500, None])
def test_a_failing_local_receiver_is_reported_and_not_retried(server, receiver, store, answer):
    lines: list[str] = []
    listening = listener(server, receiver, store, lines)
    listening.start()
    receiver.status = answer
    event = server.add("payment.failed", T0)
    listening.poll_once()
    assert "[500]" in lines[0] if answer else "[failed: ConnectionError]" in lines[0]
    assert event["id"] in lines[0]
    receiver.status = 200
    assert listening.poll_once() == 0  # like `stripe listen`: one attempt per event


def test_memory_of_seen_ids_is_bounded_by_the_lookback(server, receiver, store):
    listening = listener(server, receiver, store, lookback=30)
    listening.start()
    for minute in range(10):
        server.add("payment.created", T0 + timedelta(minutes=minute))
        listening.poll_once()
    assert len(listening.state.seen) == 1
    assert len(store.load().seen) == 1


def test_the_api_going_away_is_reported_once_then_retried(server, receiver, store):
    lines: list[str] = []
    listening = listener(server, receiver, store, lines)
    listening.start()
    server.status = 503
    rounds = iter(range(3))
    listening.run(0, should_stop=lambda: next(rounds, None) is None)
    assert [line for line in lines if "Cannot read events" in line] == [lines[0]]
    server.status = 200
    event = server.add("payment.created", T0)
    rounds = iter(range(1))
    listening.run(0, should_stop=lambda: next(rounds, None) is None)
    assert receiver.ids == [event["id"]]


def test_wrong_credentials_stop_the_listener(server, receiver, store):
    listening = listener(server, receiver, store)
    listening.start()
    server.status = 401
    with pytest.raises(ApiError) as failure:
        listening.run(0)
    assert failure.value.status == 401


def test_state_files_are_per_api_and_key_private_and_survive_corruption(tmp_path, server):
    paths = {
        state_path("http://localhost:8000", "key_a", tmp_path),
        state_path("http://localhost:8000/", "key_a", tmp_path),
        state_path("http://localhost:8000", "key_b", tmp_path),
        state_path("https://api.example", "key_a", tmp_path),
    }
    assert len(paths) == 3
    store = StateFile(tmp_path / "nested" / "listen.json")
    listening = listener(server, Receiver(), store)
    listening.start()
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert not [p for p in store.path.parent.iterdir() if p.name.startswith(".listen-")]
    store.path.write_text("{not json")
    assert store.load() is None
    assert listener(server, Receiver(), store).start().secret.startswith("whsec_")


def test_config_dir_follows_xdg():
    assert str(config_dir({"XDG_CONFIG_HOME": "/x"})) == "/x/paygate"
    assert config_dir({}).name == "paygate"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2026-01-15T10:31:00Z", "2026-01-15T10:31:00.000Z"),
        ("2026-01-15T16:01:00+05:30", "2026-01-15T10:31:00.000Z"),
        ("1768473060", "2026-01-15T10:31:00.000Z"),
        ("30m", "2026-01-15T10:01:00.000Z"),
        ("2h", "2026-01-15T08:31:00.000Z"),
        ("1d", "2026-01-14T10:31:00.000Z"),
    ],
)
def test_since_takes_times_and_ages(raw, expected):
    assert parse_since(raw, now=T0) == expected


@pytest.mark.parametrize("raw", ["", "yesterday", "2026-01-15T10:31:00", "5w", "m"])
def test_since_refuses_what_is_not_a_time(raw):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        parse_since(raw, now=T0)
