"""worker_status and /health are measured: stopping the pollers shows, restarting heals."""

from __future__ import annotations

import requests


def test_stopped_pollers_are_reported_and_restart_heals(stack):
    runtime = stack.runtime
    runtime.stop_workers()
    try:
        status = requests.get(stack.api + "/api/v1/test/jobs/status", timeout=5).json()
        health = requests.get(stack.api + "/health", timeout=5)
        assert status["worker_status"] == "stopped"
        assert health.status_code == 200 and health.json()["worker"] == "stopped"
        assert health.json()["status"] == "degraded"
    finally:
        runtime.start_workers()
    assert runtime.wait_ready(timeout=20)["worker"] == "running"
