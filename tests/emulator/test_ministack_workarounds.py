"""Each workaround in infra/local/ministack_patches.py, measured without and with it (docs/
ministack.md reports them upstream-style). The "without" half checks that the pinned MiniStack
still behaves as reported: when a release fixes one, its test says so and the patch can go."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time

import pytest

from infra.local import ministack_patches
from infra.local.runtime import EMULATOR_PYTHON
from tests.support.stack import REPO

PROBE = REPO / "tests" / "emulator" / "ministack_probe.py"


def probe(case: str, patched: bool) -> dict:
    if not EMULATOR_PYTHON.exists():
        pytest.fail(f"{EMULATOR_PYTHON} is missing: run `make setup`")
    out = subprocess.run(
        [str(EMULATOR_PYTHON), str(PROBE), case, "--patched" if patched else "--unpatched"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_long_poll_wakes_on_arrival_and_at_visibility():
    before, after = probe("long_poll", False), probe("long_poll", True)
    # MiniStack re-checks every 100 ms: a waiting receive sees a new message ~50 ms late.
    assert before["arrival_ms"] >= 20, before
    assert after["arrival_ms"] < before["arrival_ms"] / 4, (before, after)
    # A delayed message is returned when it becomes visible, not at the next 100 ms tick.
    assert after["delayed_ms"] < 50, after


def test_warm_invocations_do_not_wait_for_log_lines():
    before, after = probe("log_drain", False), probe("log_drain", True)
    assert before["warm_ms"] >= 45, before  # the 50 ms wait for a log line that never comes
    assert after["warm_ms"] < 25, after


def test_openapi_import_keeps_any_methods_and_gateway_responses():
    before, after = probe("openapi_import", False), probe("openapi_import", True)
    assert before == {"methods": ["POST"], "missing_token_status": None}
    assert after == {"methods": ["ANY", "POST"], "missing_token_status": "404"}


def test_invocations_beyond_the_cap_wait_for_an_environment():
    before, after = probe("environment_cap", False), probe("environment_cap", True)
    assert before["environments"] == 2 and not before["second_is_first"]  # one process each
    assert after["environments"] == 1 and after["second_is_first"]
    assert after["waited_s"] >= 0.25  # it waited for the first one to be released


def test_idle_environments_stay_warm():
    before, after = probe("idle_reap", False), probe("idle_reap", True)
    assert before["environments"] == 1, before  # MiniStack keeps only the first
    assert after["environments"] == 2, after


def test_warming_starts_every_environment_even_when_first_warm_ups_time_out():
    result = probe("warm", True)
    assert result["once"] == 0, result  # both warm-ups ran past the timeout: killed
    assert result["retried"] == 2 and result["live_processes"] == 2, result


class FakeSqs:
    """MiniStack's sqs module as the mappings' wake-up reads it."""

    def __init__(self, visible_at: list[float]) -> None:
        messages = [{"visible_at": t} for t in visible_at]
        self._queues = type("Scoped", (), {"_data": {"q": {"messages": messages}}})()


def test_mapping_poller_wakes_when_the_next_message_becomes_visible():
    now = time.time()
    wake = ministack_patches._WakeAtNextVisibility(threading.Event(), FakeSqs([now + 0.2]))
    started = time.monotonic()
    assert wake.wait(5) is False
    assert 0.15 <= time.monotonic() - started < 2  # not MiniStack's idle second (or five)


def test_mapping_poller_still_wakes_on_a_set():
    event = threading.Event()
    wake = ministack_patches._WakeAtNextVisibility(event, FakeSqs([]))
    threading.Timer(0.1, wake.set).start()
    started = time.monotonic()
    assert wake.wait(5) is True and time.monotonic() - started < 2


def test_next_visible_ignores_messages_already_visible():
    now = time.time()
    messages = [{"visible_at": now - 1}, {"visible_at": now + 3}, {"visible_at": now + 1}]
    assert ministack_patches.next_visible(messages, now) == now + 1
    assert ministack_patches.next_visible(messages[:1], now) is None


def test_api_gateway_sees_the_connections_address_not_the_callers_claim():
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope)

    app = ministack_patches.with_connection_address(inner)
    claim = [(b"host", b"x"), (b"X-Forwarded-For", b"203.0.113.9, 10.0.0.1")]
    asyncio.run(app({"type": "http", "client": ("127.0.0.7", 5123), "headers": claim}, None, None))
    asyncio.run(app({"type": "lifespan"}, None, None))
    assert seen[0]["headers"] == [(b"host", b"x"), (b"x-forwarded-for", b"127.0.0.7")]
    assert seen[1] == {"type": "lifespan"}


class FakeWorker:
    """An execution environment whose warm-ups answer `outcomes` in turn ("ok" or "error")."""

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = list(outcomes)
        self.invocations = 0

    def invoke(self, event, request_id):
        assert event == ministack_patches.WARM_EVENT
        self.invocations += 1
        return {"status": self.outcomes.pop(0) if self.outcomes else "ok"}


class FakeRuntime:
    """MiniStack's lambda_runtime with `cap` environments: a lease beyond them gets None, as
    when the capped pool's wait ends."""

    def __init__(self, workers: list[FakeWorker], cap: int) -> None:
        self.free, self.cap, self.leased, self.released = list(workers), cap, [], []

    def acquire_worker(self, name, config, code_zip):
        if len(self.leased) >= self.cap:
            return None, None
        worker = self.free.pop(0)
        self.leased.append(worker)
        return worker, None

    def release_worker(self, worker):
        self.released.append(worker)


class FakeLambdaService:
    def __init__(self, known: set[str]) -> None:
        self.known = known

    def _get_func_record_for_qualifier(self, name, qualifier):
        return ({"code_zip": b""}, {}) if name in self.known else (None, None)


def call_warm_route(runtime, query: bytes) -> tuple[int, dict]:
    sent = []

    async def send(message):
        sent.append(message)

    async def inner(scope, receive, send):
        raise AssertionError("the warm route answered by the emulator")

    app = ministack_patches.with_warm_route(inner, runtime, FakeLambdaService({"worker"}))
    scope = {"type": "http", "path": ministack_patches.WARM_PATH, "method": "POST"}
    asyncio.run(app({**scope, "query_string": query}, None, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


@pytest.mark.parametrize(
    "query", [b"", b"function=worker", b"environments=2", b"function=worker&environments=two"]
)
def test_the_warm_route_refuses_a_request_without_a_function_and_a_number(query):
    runtime = FakeRuntime([FakeWorker([])], cap=1)
    status, answer = call_warm_route(runtime, query)
    assert status == 400 and "environments" in answer["error"], answer
    assert runtime.leased == []


def test_the_warm_route_warms_no_more_than_the_cap_and_releases_every_environment():
    workers = [FakeWorker(["error", "ok"]), FakeWorker([]), FakeWorker([])]
    runtime = FakeRuntime(workers, cap=2)
    assert call_warm_route(runtime, b"function=worker&environments=1000000") == (200, {"warm": 2})
    assert runtime.released == runtime.leased == workers[:2]
    assert [w.invocations for w in workers] == [2, 1, 0]  # the failed warm-up retried in place


def test_the_warm_route_counts_an_environment_that_never_warmed_and_an_unknown_function():
    runtime = FakeRuntime([FakeWorker(["error"] * 3), FakeWorker([])], cap=2)
    assert call_warm_route(runtime, b"function=worker&environments=2") == (200, {"warm": 1})
    assert runtime.released == runtime.leased
    assert call_warm_route(FakeRuntime([], cap=0), b"function=nope&environments=2") == (
        200,
        {"warm": 0},
    )
