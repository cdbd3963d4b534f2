"""The emulator killed mid-run: MiniStack writes its state to disk only when it stops cleanly, so
the runtime starts it again with the state of its last clean stop (here: none, the stack's state
directory is fresh), redeploys, reseeds, and the product comes back healthy without what changed
since (documented in the README)."""

from __future__ import annotations

import signal

import requests

from tests.support.stack import TEST_HEADERS


def test_emulator_killed_is_redeployed_and_healthy_again(stack):
    runtime = stack.runtime
    order = stack.create_order(700)
    emulator = runtime.children["emulator"]
    emulator.process.send_signal(signal.SIGKILL)
    emulator.process.wait()
    runtime.supervise_once()
    assert runtime.wait_ready(timeout=30)["status"] == "healthy"
    seeded = requests.get(stack.api + "/api/v1/test/merchant", timeout=5).json()
    assert seeded["seeded"] is True
    gone = requests.get(f"{stack.api}/api/v1/orders/{order['id']}", headers=TEST_HEADERS, timeout=5)
    assert gone.status_code == 404  # written after the last clean stop: lost with the crash
    assert stack.create_order(800)["status"] == "created"
