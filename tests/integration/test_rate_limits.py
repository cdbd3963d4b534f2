"""The shared rate limiter on the real counters table (moto): counts, refusals, windows."""

from __future__ import annotations

import threading
import uuid

import pytest

from paygate.db.models import CounterModel
from paygate.db.rate_limits import RateLimitRepository, window_key
from paygate.errors import RateLimited
from paygate.services.rate_limits import RateLimiter


class FakeClock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def limiter(limit=3, window=60, at=1_000_020.0):
    clock = FakeClock(at)
    scope = f"test-{uuid.uuid4().hex[:8]}"
    return RateLimiter(RateLimitRepository(), scope, limit, window, now=clock), clock


def test_hits_up_to_the_limit_pass_and_the_next_is_refused_with_the_time_left():
    rl, _ = limiter(limit=3, window=60, at=1_000_020.0)
    for _ in range(3):
        rl.hit("m1")
    with pytest.raises(RateLimited) as refused:
        rl.hit("m1")
    start = 1_000_020 - 1_000_020 % 60
    assert refused.value.retry_after == start + 60 - 1_000_020
    assert refused.value.code == "RATE_LIMITED"


def test_subjects_are_counted_apart():
    rl, _ = limiter(limit=1)
    rl.hit("a")
    rl.hit("b")
    with pytest.raises(RateLimited):
        rl.hit("a")


def test_a_new_window_starts_from_zero():
    rl, clock = limiter(limit=1, window=60)
    rl.hit("m")
    with pytest.raises(RateLimited):
        rl.hit("m")
    clock.at += 60
    rl.hit("m")


def test_check_reads_without_counting():
    rl, _ = limiter(limit=2)
    for _ in range(5):
        rl.check("m")
    rl.hit("m")
    rl.check("m")
    rl.hit("m")
    with pytest.raises(RateLimited):
        rl.check("m")


def test_counters_carry_an_expiry_after_their_window():
    rl, _ = limiter(limit=5, window=900, at=1_800_100.0)
    rl.hit("m")
    start = 1_800_100 - 1_800_100 % 900
    item = CounterModel.get(window_key(rl.scope, "m", start))
    assert item.hits == 1
    assert int(item.expires_at.timestamp()) == start + 900 + 60


def test_concurrent_hits_never_let_more_than_the_limit_through():
    rl, _ = limiter(limit=10)
    passed, refused = [], []

    def one():
        try:
            rl.hit("race")
            passed.append(1)
        except RateLimited:
            refused.append(1)

    threads = [threading.Thread(target=one) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(passed), len(refused)) == (10, 20)
