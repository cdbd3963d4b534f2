"""The emulator killed mid-run: moto keeps no state on disk, so the runtime redeploys a fresh
stack and the product comes back healthy, with the local data gone (documented)."""

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
    assert gone.status_code == 404  # in-memory emulator: data does not survive it
    assert stack.create_order(800)["status"] == "created"
