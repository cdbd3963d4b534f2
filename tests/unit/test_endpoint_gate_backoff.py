"""How long an attempt waits when its endpoint's gate refuses it (`EndpointGate`, `Deferral`),
without storage: a gate full of places taken a moment ago (a fast receiver in a burst) defers
briefly; one whose places are held long (a slow or silent endpoint, red-team a08) keeps the
back-off of 1-2 s, doubling; an open circuit waits for its cool-down. An in-memory gate
repository stands in for the counters table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from paygate.services.endpoint_gate import (
    FULL_MEMO_SECONDS,
    LEASE_SECONDS,
    MAX_DEFERRAL_BACKOFF_SECONDS,
    Deferral,
    EndpointGate,
)
from paygate.services.endpoint_gate import _key as server_gate_key


@dataclass
class State:
    leases: set[str] = field(default_factory=set)
    timeouts: int | None = None
    open_until: float | None = None


class MemoryGates:
    """The repository's contract over a dict; counts the calls made."""

    def __init__(self) -> None:
        self.items: dict[str, State] = {}
        self.calls = 0

    def take(self, key, lease, now, max_in_flight, probe_after_timeouts, keep_until) -> bool:
        self.calls += 1
        item = self.items.setdefault(key, State())
        if item.open_until is not None and item.open_until > now:
            return False
        if len(item.leases) >= max_in_flight:
            return False
        if (item.timeouts or 0) >= probe_after_timeouts and item.leases:
            return False
        item.leases.add(lease)
        return True

    def state(self, key):
        self.calls += 1
        return self.items.get(key)

    def drop(self, key, leases) -> None:
        self.calls += 1
        self.items[key].leases -= set(leases)


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@dataclass(frozen=True)
class Endpoint:
    merchant_id: str = "m_1"
    id: str = "we_1"
    url: str = "https://fast.example/hook"


def full_gate(age: float, cap: int = 3):
    """A gate with `cap` places, all taken, the oldest `age` seconds ago and the others now."""
    repo, clock = MemoryGates(), Clock()
    gate = EndpointGate(repo, max_in_flight=cap, now=clock, max_merchant_in_flight=100)
    now = clock.t
    clock.t = now - age
    assert gate.enter(Endpoint()).deferral is None
    clock.t = now
    for _ in range(cap - 1):
        assert gate.enter(Endpoint()).deferral is None
    return gate, repo, clock


def test_a_gate_full_of_places_taken_a_moment_ago_defers_briefly():
    gate, _, _ = full_gate(age=0.05)
    deferral = gate.enter(Endpoint()).deferral
    assert deferral is not None and deferral.wait == 0
    assert deferral.held == pytest.approx(0.05, abs=0.01)
    assert deferral.backoff(0, uniform=max) <= 0.2 + 1e-9  # the jitter at its highest
    assert deferral.backoff(0, uniform=min) >= 0.1 - 1e-9


def test_a_gate_whose_places_are_held_long_keeps_the_full_backoff():
    gate, _, _ = full_gate(age=4.0)
    deferral = gate.enter(Endpoint()).deferral
    assert deferral.held == pytest.approx(4.0, abs=0.01)
    assert deferral.backoff(0, uniform=min) == pytest.approx(1.0)
    assert deferral.backoff(0, uniform=max) == pytest.approx(2.0)


@pytest.mark.parametrize("held, base", [(0.0, 0.1), (0.05, 0.1), (0.3, 0.3), (0.9, 0.9), (4, 1)])
def test_the_first_step_is_the_oldest_places_age_within_bounds(held, base):
    assert Deferral("full", held=held).base == pytest.approx(base)


def test_each_deferral_doubles_the_wait_up_to_a_minute():
    for held, base in ((0.05, 0.1), (4.0, 1.0)):
        deferral = Deferral("full", held=held)
        steps = [deferral.backoff(n, uniform=min) for n in range(12)]
        assert steps[:4] == pytest.approx([base, 2 * base, 4 * base, 8 * base])
        assert max(steps) == pytest.approx(MAX_DEFERRAL_BACKOFF_SECONDS)


def test_a_probe_in_flight_keeps_the_full_backoff():
    assert Deferral("probe in flight").backoff(0, uniform=min) == pytest.approx(1.0)


def test_an_open_circuit_waits_for_its_cool_down():
    assert Deferral("circuit open", 30.0).backoff(0, uniform=min) == pytest.approx(31.0)
    assert Deferral("circuit open", 30.0).backoff(5, uniform=max) == pytest.approx(35.0)


def test_a_full_gate_is_remembered_no_longer_than_its_first_step():
    gate, repo, clock = full_gate(age=0.05)
    assert gate.enter(Endpoint()).deferral is not None
    calls = repo.calls
    clock.t += 0.05  # within the memo: refused without asking the table
    remembered = gate.enter(Endpoint()).deferral
    assert repo.calls == calls
    # remembered as a full gate (its back-off), not as an open circuit's cool-down
    assert remembered.wait == 0 and remembered.backoff(0, uniform=max) <= 0.2 + 1e-9
    clock.t += 0.06  # past 0.1 s: the table is asked again
    gate.enter(Endpoint())
    assert repo.calls > calls


def test_a_gate_held_long_is_remembered_for_the_full_memo():
    gate, repo, clock = full_gate(age=4.0)
    assert gate.enter(Endpoint()).deferral is not None
    calls = repo.calls
    clock.t += FULL_MEMO_SECONDS - 0.05
    remembered = gate.enter(Endpoint()).deferral
    assert repo.calls == calls
    assert remembered.wait == 0 and remembered.backoff(0, uniform=min) == pytest.approx(1.0)
    clock.t += 0.1
    gate.enter(Endpoint())
    assert repo.calls > calls


def test_the_age_ignores_places_whose_holders_died():
    """An expired lease is not a place held for 15 s: it is freed, and the live ones count."""
    gate, repo, clock = full_gate(age=0.05)
    (item,) = [v for k, v in repo.items.items() if k == server_gate_key(Endpoint())]
    dead = f"{clock() - 1:.3f}:dead"  # expired a second ago, taken LEASE_SECONDS + 1 s ago
    item.leases = set(sorted(item.leases)[1:]) | {dead}
    # the dead place is dropped and its place taken: the gate is full of young places again
    assert gate.enter(Endpoint()).deferral is None
    deferral = gate.enter(Endpoint()).deferral
    assert deferral is not None and deferral.held < LEASE_SECONDS
    assert deferral.base == pytest.approx(0.1)
