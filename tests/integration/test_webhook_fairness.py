"""Fairness in delivery (red-team a08, c02, c03): one endpoint's slow attempts never take every
worker, nor hold back another merchant.

A merchant holds at most MAX_IN_FLIGHT attempts at once at one server (and
MAX_MERCHANT_IN_FLIGHT over all of them), and one whose last
BREAKER_TIMEOUTS attempts all ran into the deadline has its circuit opened: its further
attempts are deferred (the message re-queued with a delay, the log's `next_retry_at` moved,
no attempt counted, nothing dead-lettered) while other endpoints' messages go first. Moto's
tables and queues, the real delivery engine, a fake transport that can hold a POST open.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from paygate.db.endpoint_gates import EndpointGateRepository
from paygate.db.models import WebhookLogModel
from paygate.services.endpoint_gate import (
    BREAKER_OPEN_SECONDS,
    BREAKER_TIMEOUTS,
    FULL_MEMO_SECONDS,
    LEASE_SECONDS,
    MAX_DEFERRAL_SECONDS,
    MAX_IN_FLIGHT,
    MAX_MERCHANT_IN_FLIGHT,
    EndpointGate,
)
from paygate.services.webhooks import RELAY_OVERDUE_AFTER_SECONDS, log_id_for
from paygate.webhook_transport import Answer
from paygate.wiring import services
from tests.integration.helpers import drain, merchant_with_url, receive_all

# Each test's endpoints are on a host of their own: places are per merchant and server.
HOLD = "hold.example"  # hosts under it wait until released, then answer 200
TIMEOUT = "timeout.example"  # hosts under it time out at once (as after 5 s)
OK = "ok.example"


class FakeTransport:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.posts: list[str] = []
        self.in_flight = 0
        self._lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: dict) -> Answer:
        with self._lock:
            self.posts.append(url)
            self.in_flight += 1
        try:
            if f".{HOLD}/" in url:
                self.release.wait(10)
                return Answer(200, "ok, at last")
            if f".{TIMEOUT}/" in url:
                return Answer(None, "Timeout: no answer within 5 s", timed_out=True)
            return Answer(200, "ok")
        finally:
            with self._lock:
                self.in_flight -= 1


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def delivery(monkeypatch):
    """The wired delivery engine with the fake transport, a gate on a movable clock, and the
    messages it queues captured (with their delays) rather than sent."""
    engine = services().delivery
    transport = FakeTransport()
    clock = Clock()
    sent: list[tuple[dict, int]] = []
    monkeypatch.setattr(engine, "transport", transport)
    monkeypatch.setattr(engine, "gate", EndpointGate(EndpointGateRepository(), now=clock))
    monkeypatch.setattr(engine.queue, "send", lambda m, delay_ms=0: sent.append((m, delay_ms)))
    monkeypatch.setattr(
        engine.queue, "send_batch", lambda ms, delay_ms=0: sent.extend((m, delay_ms) for m in ms)
    )
    engine.fake_transport, engine.clock, engine.sent = transport, clock, sent
    yield engine
    transport.release.set()


@pytest.fixture(autouse=True)
def empty_webhook_queue():
    drain(services().settings.webhook_queue_url)
    yield
    drain(services().settings.webhook_queue_url)


def queued_tests(merchant, count: int) -> list[str]:
    """`count` test events for `merchant`; their event ids (the hand-offs are captured by the
    `delivery` fixture or taken off the real queue: the test runs them itself)."""
    logs = {services().webhooks.send_test(merchant)["id"] for _ in range(count)}
    captured = getattr(services().delivery, "sent", [])
    bodies = [m for m, _ in captured] + [
        json.loads(m["Body"]) for m in receive_all(services().settings.webhook_queue_url)
    ]
    found = [b["event_id"] for b in bodies if "event_id" in b and log_id_for(b["event_id"]) in logs]
    assert len(found) == count, "hand-off messages missing"
    return found


def log_of(event_id: str) -> WebhookLogModel:
    return WebhookLogModel.get(log_id_for(event_id), consistent_read=True)


def in_threads(fn, items, workers=32):
    pool = ThreadPoolExecutor(workers)
    return pool, [pool.submit(fn, item) for item in items]


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def due_now(log_id: str) -> str:
    """Make a deferred log's attempt due now (the delay passing, without waiting)."""
    WebhookLogModel(id=log_id).update(actions=[WebhookLogModel.next_retry_epoch.set(0)])
    return log_id


def deferred_messages(engine, log_id: str) -> list[tuple[dict, int]]:
    return [(m, d) for m, d in engine.sent if m.get("log_id") == log_id]


# ------------------------------------------------------------------ the in-flight cap
def test_an_endpoint_at_its_cap_is_deferred_while_another_endpoint_is_delivered_at_once(
    delivery,
):
    slow = merchant_with_url(f"https://a.{HOLD}/hook")
    healthy = merchant_with_url(f"https://b.{OK}/hook")
    extra = 4
    events = queued_tests(slow, MAX_IN_FLIGHT + extra)
    (victim,) = queued_tests(healthy, 1)

    pool, futures = in_threads(
        lambda e: delivery.handle({"event_id": e}, time.time()), events, workers=len(events)
    )
    try:
        # the first MAX_IN_FLIGHT hold their POST; the rest come back at once, deferred
        assert wait_for(lambda: sum(f.done() for f in futures) == extra), [
            f.done() for f in futures
        ]
        assert sorted(f.result() for f in futures if f.done()) == ["deferred"] * extra
        # (a holder may take its place before the refused ones end, yet POST after)
        assert wait_for(lambda: delivery.fake_transport.in_flight == MAX_IN_FLIGHT)

        started = time.monotonic()
        assert delivery.handle({"event_id": victim}, time.time()) == "success"
        assert time.monotonic() - started < 1.0
    finally:
        delivery.fake_transport.release.set()
        pool.shutdown(wait=True)

    deferred = [e for e, f in zip(events, futures, strict=True) if f.result() == "deferred"]
    for event_id in deferred:
        log = log_of(event_id)
        # no attempt counted, still pending (a short deferral leaves the due time as it was:
        # the relay would only re-send it minutes later)
        assert (log.status, int(log.attempts)) == ("pending", 0)
        assert float(log.next_retry_epoch) > time.time() - 10
        ((message, delay_ms),) = deferred_messages(delivery, log.id)
        # (places held a moment only are waited for in the worker first: see the burst tests)
        assert message["attempt"] == 1 and message["deferrals"] >= 1
        assert message["deferred_since"] <= time.time()
        assert 0 < delay_ms <= 16000, delay_ms
    assert len(delivery.fake_transport.posts) == MAX_IN_FLIGHT + 1
    # the attempts that ran released their places: the endpoint takes attempts again (once
    # this worker's memory of the refusal has lapsed)
    time.sleep(FULL_MEMO_SECONDS)
    assert delivery.handle({"log_id": log_id_for(deferred[0]), "attempt": 1}, time.time()) in (
        "success",
        "not_due",
    )


def test_the_cap_holds_across_concurrent_workers_without_losing_or_counting_twice(delivery):
    """Two copies of every message (a redelivery racing its original) for one held endpoint:
    never more than MAX_IN_FLIGHT POSTs at once, and each log counts one attempt at most."""
    slow = merchant_with_url(f"https://c.{HOLD}/hook")
    events = queued_tests(slow, MAX_IN_FLIGHT + 5)
    peak = [0]
    original_post = delivery.fake_transport.post

    def post(url, body, headers):
        peak[0] = max(peak[0], delivery.fake_transport.in_flight + 1)
        return original_post(url, body, headers)

    delivery.fake_transport.post = post
    pool, futures = in_threads(
        lambda e: delivery.handle({"event_id": e}, time.time()), events * 2, workers=64
    )
    time.sleep(1.0)
    delivery.fake_transport.release.set()
    pool.shutdown(wait=True)
    outcomes = [f.result() for f in futures]
    assert peak[0] <= MAX_IN_FLIGHT, peak
    assert set(outcomes) <= {"success", "deferred", "duplicate", "stale", "not_due"}, outcomes
    for event_id in events:
        log = log_of(event_id)
        if int(log.attempts) == 1:
            assert log.status == "success"
        else:  # deferred, nothing counted, and its message is queued again
            assert (log.status, int(log.attempts)) == ("pending", 0)
            assert deferred_messages(delivery, log.id), event_id


# ------------------------------------------------------------------ a burst, not a flood
def fill_gate(delivery, endpoint, age: float) -> list:
    """Take every place of `endpoint`'s gate, `age` seconds ago by the gate's clock."""
    delivery.clock.offset = -age
    try:
        taken = [delivery.gate.enter(endpoint) for _ in range(MAX_IN_FLIGHT)]
    finally:
        delivery.clock.offset = 0.0
    assert all(a.deferral is None for a in taken)
    return taken


def test_a_burst_to_a_fast_receiver_waits_a_fraction_of_a_second_not_a_queue_delay(delivery):
    """A merchant's own burst fills its gate with places taken a moment ago that a fast receiver
    gives back within a fraction of a second: the attempt that found the gate full is delivered
    soon after, not put back on the queue for 1-2 s (a queue delay is whole seconds: the short
    wait is waited by the worker)."""
    merchant = merchant_with_url(f"https://burst.{OK}/hook")
    endpoint = delivery.directory.find(merchant.id, None)
    taken = fill_gate(delivery, endpoint, age=0.0)
    (event_id,) = queued_tests(merchant, 1)
    answered = threading.Timer(0.1, lambda: [delivery.gate.leave(a, False) for a in taken])
    started = time.monotonic()
    answered.start()
    try:
        outcome = delivery.handle({"event_id": event_id}, time.time())
    finally:
        answered.join()
    elapsed = time.monotonic() - started
    assert outcome == "success", outcome
    assert elapsed < 1.0 + 0.3, elapsed  # at most WAIT_HERE_SECONDS of waits, plus the calls
    assert deferred_messages(delivery, log_id_for(event_id)) == []  # never went back
    log = log_of(event_id)
    assert (log.status, int(log.attempts)) == ("success", 1)


def test_a_gate_of_young_places_that_stay_held_goes_back_on_the_queue_after_a_second(delivery):
    """Young places that are not given back (a receiver slower than it looked): the worker
    waits at most WAIT_HERE_SECONDS in all, then the attempt is re-queued, deferred once: its
    back-off is the queue's first step from how long the places have been held by then (the
    short waits here do not double it: they made it 8-16 s, and a make test run's bad events
    then waited past the isolation test's window)."""
    merchant = merchant_with_url(f"https://young.{HOLD}/hook")
    endpoint = delivery.directory.find(merchant.id, None)
    fill_gate(delivery, endpoint, age=0.0)
    (event_id,) = queued_tests(merchant, 1)
    started = time.monotonic()
    assert delivery.handle({"event_id": event_id}, time.time()) == "deferred"
    assert time.monotonic() - started < 1.0 + 0.3
    ((message, delay_ms),) = deferred_messages(delivery, log_id_for(event_id))
    assert message["deferrals"] == 1, message
    assert 0 < delay_ms <= 2000 and message["deferred_since"] <= time.time() - 0.1, message
    assert int(log_of(event_id).attempts) == 0
    assert delivery.fake_transport.posts == []


def test_a_gate_whose_places_are_held_long_still_defers_a_second_or_more(delivery):
    """A slow or silent endpoint (red-team a08) holds its places for seconds: its attempts go
    back on the queue at once, for 1-2 s as before, and the worker does not wait for them."""
    merchant = merchant_with_url(f"https://old.{HOLD}/hook")
    endpoint = delivery.directory.find(merchant.id, None)
    fill_gate(delivery, endpoint, age=4.0)
    events = queued_tests(merchant, 2)
    started = time.monotonic()
    outcomes = [delivery.handle({"event_id": e}, time.time()) for e in events]
    assert outcomes == ["deferred", "deferred"]
    assert time.monotonic() - started < 0.5 * len(events)  # no waiting in the worker
    for event_id in events:  # the second one was refused from this worker's memo
        ((message, delay_ms),) = deferred_messages(delivery, log_id_for(event_id))
        assert message["deferrals"] == 1
        assert 1000 <= delay_ms <= 2000, delay_ms
    assert delivery.fake_transport.posts == []


# ------------------------------------------------------------------ the circuit breaker
def test_an_endpoint_that_keeps_timing_out_is_deferred_then_probed_once(delivery):
    slow = merchant_with_url(f"https://d.{TIMEOUT}/hook")
    events = queued_tests(slow, BREAKER_TIMEOUTS + 3)
    outcomes = [delivery.handle({"event_id": e}, time.time()) for e in events]
    assert outcomes[:BREAKER_TIMEOUTS] == ["retry"] * BREAKER_TIMEOUTS
    assert outcomes[BREAKER_TIMEOUTS:] == ["deferred"] * 3
    assert len(delivery.fake_transport.posts) == BREAKER_TIMEOUTS
    # deferred until the circuit may close again, not counted as attempts
    for event_id in events[BREAKER_TIMEOUTS:]:
        log = log_of(event_id)
        assert int(log.attempts) == 0
        ((message, delay_ms),) = deferred_messages(delivery, log.id)
        assert (BREAKER_OPEN_SECONDS - 1) * 1000 <= delay_ms <= (BREAKER_OPEN_SECONDS + 15) * 1000

    # the cool-down passes: one probe at a time goes out; it times out, so the circuit opens
    # again for twice as long
    delivery.clock.offset = BREAKER_OPEN_SECONDS + 1
    probe = due_now(log_id_for(events[-1]))
    delivery.sent.clear()
    assert delivery.handle({"log_id": probe, "attempt": 1, "generation": 0}, 0) == "retry"
    other = due_now(log_id_for(events[-2]))
    assert delivery.handle({"log_id": other, "attempt": 1, "generation": 0}, 0) == "deferred"
    ((_, delay_ms),) = deferred_messages(delivery, other)
    assert delay_ms >= 2 * BREAKER_OPEN_SECONDS * 1000 - 2000, delay_ms


def test_a_probe_that_succeeds_closes_the_circuit(delivery):
    merchant = merchant_with_url(f"https://e.{TIMEOUT}/hook")
    events = queued_tests(merchant, BREAKER_TIMEOUTS + 2)
    for event_id in events[:BREAKER_TIMEOUTS]:
        assert delivery.handle({"event_id": event_id}, time.time()) == "retry"
    assert delivery.handle({"event_id": events[-2]}, time.time()) == "deferred"
    # the receiver is fixed during the cool-down
    delivery.fake_transport.post = lambda url, body, headers: Answer(200, "ok")
    delivery.clock.offset = BREAKER_OPEN_SECONDS + 1
    message = {"log_id": due_now(log_id_for(events[-2])), "attempt": 1}
    assert delivery.handle(message, time.time()) == "success"  # the probe
    assert delivery.handle({"event_id": events[-1]}, time.time()) == "success"  # closed


def test_only_timeouts_open_the_circuit_not_fast_failures(delivery):
    """A 500 or a refused connection costs a worker nothing: endpoint health deals with those,
    the breaker does not."""
    delivery.fake_transport.post = lambda url, body, headers: Answer(500, "no")
    merchant = merchant_with_url(f"https://f.{OK}/hook")
    for event_id in queued_tests(merchant, BREAKER_TIMEOUTS + 3):
        assert delivery.handle({"event_id": event_id}, time.time()) == "retry"


def test_a_merchants_endpoints_on_one_server_share_its_places(delivery):
    """A merchant's 16 endpoints on one slow server hold at most MAX_IN_FLIGHT workers, not 16
    times as many; its endpoints on another server have their own places."""
    merchant = merchant_with_url(f"https://l.{HOLD}/0")
    created = [
        services().webhook_endpoints.create(
            merchant, {"url": f"https://l.{HOLD}/{n}", "enabled_events": ["*"]}
        )
        for n in (1, 2)
    ]
    endpoints = [services().delivery.directory.find(merchant.id, None)]
    endpoints += [services().delivery.directory.find(merchant.id, e["id"]) for e in created]
    taken = [delivery.gate.enter(endpoints[n % 3]) for n in range(MAX_IN_FLIGHT)]
    assert all(a.deferral is None for a in taken)
    assert all(delivery.gate.enter(e).deferral is not None for e in endpoints)
    other_server = services().webhook_endpoints.create(
        merchant, {"url": f"https://l2.{HOLD}/0", "enabled_events": ["*"]}
    )
    other = services().delivery.directory.find(merchant.id, other_server["id"])
    assert delivery.gate.enter(other).deferral is None


def test_another_merchant_on_the_same_server_keeps_its_places_and_its_circuit(delivery):
    """c02: an attacker whose own path on a shared server times out opens the circuit for
    itself only; the victim on that server is delivered at once."""
    attacker = merchant_with_url(f"https://shared.{TIMEOUT}/attacker")
    victim = merchant_with_url(f"https://shared.{TIMEOUT}/victim")
    for event_id in queued_tests(attacker, BREAKER_TIMEOUTS + 1):
        delivery.handle({"event_id": event_id}, time.time())
    assert delivery.handle({"event_id": queued_tests(attacker, 1)[0]}, time.time()) == "deferred"
    gate = delivery.gate
    for _ in range(MAX_IN_FLIGHT):  # the attacker's places are all taken as well
        gate.enter(services().delivery.directory.find(attacker.id, None))
    admitted = gate.enter(services().delivery.directory.find(victim.id, None))
    assert admitted.deferral is None, admitted


def test_a_merchant_holds_at_most_its_own_cap_over_every_server(delivery):
    """c03: one slow server named by many host names (wildcard DNS) is many servers to the
    per-server gate; the merchant's own cap still bounds what it holds."""
    merchant = merchant_with_url(f"https://n0.{HOLD}/hook")
    names = [services().delivery.directory.find(merchant.id, None)]
    for n in range(1, 16):
        created = services().webhook_endpoints.create(
            merchant, {"url": f"https://n{n}.{HOLD}/", "enabled_events": ["*"]}
        )
        names.append(services().delivery.directory.find(merchant.id, created["id"]))
    admitted = [delivery.gate.enter(names[n % 16]) for n in range(3 * MAX_MERCHANT_IN_FLIGHT)]
    assert sum(a.deferral is None for a in admitted) == MAX_MERCHANT_IN_FLIGHT
    others = merchant_with_url(f"https://n0.{HOLD}/other")
    assert delivery.gate.enter(services().delivery.directory.find(others.id, None)).deferral is None
    for admission in admitted:  # given back: the merchant has its places again
        if admission.deferral is None:
            delivery.gate.leave(admission, timed_out=False)
    delivery.clock.offset = FULL_MEMO_SECONDS + 0.1
    assert delivery.gate.enter(names[0]).deferral is None


# ------------------------------------------------------------------ crashes and bounds
def test_a_place_held_by_a_crashed_attempt_frees_itself(delivery):
    merchant = merchant_with_url(f"https://g.{OK}/hook")
    endpoint = services().delivery.directory.find(merchant.id, None)
    for _ in range(MAX_IN_FLIGHT):  # taken, never given back: the worker died mid-POST
        assert delivery.gate.enter(endpoint).deferral is None
    assert delivery.gate.enter(endpoint).deferral is not None
    delivery.clock.offset = LEASE_SECONDS + 1
    assert delivery.gate.enter(endpoint).deferral is None


def test_an_attempt_deferred_too_long_is_recorded_failed_without_being_sent(delivery):
    merchant = merchant_with_url(f"https://h.{HOLD}/hook")
    endpoint = services().delivery.directory.find(merchant.id, None)
    for _ in range(MAX_IN_FLIGHT):
        delivery.gate.enter(endpoint)
    (event_id,) = queued_tests(merchant, 1)
    assert delivery.handle({"event_id": event_id}, time.time()) == "deferred"
    (message, _), *_ = deferred_messages(delivery, log_id_for(event_id))
    message["deferred_since"] = time.time() - MAX_DEFERRAL_SECONDS - 1
    due_now(log_id_for(event_id))
    delivery.sent.clear()
    assert delivery.handle(message, time.time()) == "retry"
    log = log_of(event_id)
    assert (log.status, int(log.attempts), log.response_code) == ("pending", 1, None)
    assert log.response_body.startswith("Not sent: ")
    assert delivery.fake_transport.posts == []
    ((next_message, _),) = deferred_messages(delivery, log.id)
    assert next_message["attempt"] == 2 and "deferrals" not in next_message


def test_a_deferred_attempt_is_not_resent_by_the_relay(delivery):
    merchant = merchant_with_url(f"https://i.{HOLD}/hook")
    endpoint = services().delivery.directory.find(merchant.id, None)
    for _ in range(MAX_IN_FLIGHT):
        delivery.gate.enter(endpoint)
    (event_id,) = queued_tests(merchant, 1)
    log_id = log_id_for(event_id)
    assert delivery.handle({"event_id": event_id}, time.time()) == "deferred"
    delivery.sent.clear()
    delivery.sweep(time.time() + 30)
    assert deferred_messages(delivery, log_id) == []
    # the same log, had it not been postponed, would have been re-sent
    WebhookLogModel(id=log_id).update(
        actions=[WebhookLogModel.next_retry_epoch.set(time.time() - RELAY_OVERDUE_AFTER_SECONDS)]
    )
    delivery.sweep(time.time() + 30)
    assert [m["attempt"] for m, _ in deferred_messages(delivery, log_id)] == [1]


def test_a_deferred_copy_racing_a_delivered_one_counts_nothing(delivery):
    merchant = merchant_with_url(f"https://j.{OK}/hook")
    (event_id,) = queued_tests(merchant, 1)
    assert delivery.handle({"event_id": event_id}, time.time()) == "success"
    late = {"log_id": log_id_for(event_id), "attempt": 1, "generation": 0, "deferrals": 3}
    assert delivery.handle(late, time.time()) in ("stale", "duplicate")
    assert int(log_of(event_id).attempts) == 1


def test_a_disabled_endpoints_deferred_attempt_ends_failed_with_nothing_sent(delivery):
    merchant = merchant_with_url(f"https://k.{HOLD}/hook")
    endpoint = services().delivery.directory.find(merchant.id, None)
    for _ in range(MAX_IN_FLIGHT):
        delivery.gate.enter(endpoint)
    (event_id,) = queued_tests(merchant, 1)
    assert delivery.handle({"event_id": event_id}, time.time()) == "deferred"
    services().webhooks.set_url(merchant, {"webhook_url": None})
    (message, _), *_ = deferred_messages(delivery, log_id_for(event_id))
    due_now(log_id_for(event_id))
    assert delivery.handle(message, time.time()) == "ended"
    assert log_of(event_id).status == "failed"
    assert delivery.fake_transport.posts == []
