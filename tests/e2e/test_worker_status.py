"""worker_status and /health are measured: stopping the workers shows, restarting heals.

Locally the pollers' heartbeats are measured; in the stack the event source mappings' state,
which the API reads at most once a second in test mode (once a minute otherwise)."""

from __future__ import annotations

import requests

from tests.security.helpers import wait_for


def measured(stack) -> tuple[str, dict]:
    status = requests.get(stack.api + "/api/v1/test/jobs/status", timeout=5).json()
    health = requests.get(stack.api + "/health", timeout=5)
    assert health.status_code == 200, health.text
    return status["worker_status"], health.json()


def test_stopped_workers_are_reported_and_restart_heals(stack):
    runtime = stack.runtime
    runtime.stop_workers()
    try:
        stopped = wait_for(lambda: measured(stack)[0] == "stopped", timeout=5)
        assert stopped, measured(stack)
        worker, health = measured(stack)
        assert worker == "stopped" and health["worker"] == "stopped"
        assert health["status"] == "degraded"
    finally:
        runtime.start_workers()
    assert runtime.wait_ready(timeout=20)["worker"] == "running"
