"""`make run` / `make run-stack` as a user runs them: they come up, print the URLs, keep the local
data across a clean restart, and Ctrl-C stops everything quietly."""

from __future__ import annotations

import re
import subprocess
import time

import requests

from tests.support.stack import REPO, TEST_HEADERS, Run, listening


def stop_quietly(run: Run) -> None:
    output = run.ctrl_c()
    assert "Paygate stopped." in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    time.sleep(0.5)
    assert not any(listening(port) for port in run.ports.values()), run.ports


def test_comes_up_keeps_data_across_clean_restarts_and_stops_quietly(stack_mode, tmp_path):
    state = tmp_path / "state"
    first = Run(stack_mode, state)
    try:
        output = first.wait_up()
        # How fast it comes up is a benchmark figure (bench/payments.py prints it), not a test.
        assert re.search(r"Paygate is up \(ready in [\d.]+ s\)", output), output
        if stack_mode == "local":
            assert f"  API            http://localhost:{first.ports['API_PORT']}" in output
        else:  # API Gateway in the emulator
            assert re.search(
                r"^  API +http://127\.0\.0\.1:\d+/_aws/execute-api/\w+/api ", output, re.M
            )
        assert f"http://localhost:{first.ports['CHECKOUT_PORT']}/checkout.js" in output
        assert f"http://localhost:{first.ports['DASHBOARD_PORT']}/login" in output
        assert requests.get(f"{first.api}/health", timeout=10).json()["status"] == "healthy"
        config = requests.get(
            f"http://localhost:{first.ports['DASHBOARD_PORT']}/config.js", timeout=5
        )
        assert first.api in config.text  # the dashboard calls the API that was printed
        order = requests.post(
            f"{first.api}/api/v1/orders", json={"amount": 4200}, headers=TEST_HEADERS, timeout=10
        ).json()
    finally:
        stop_quietly(first)

    second = Run(stack_mode, state)  # a clean stop kept the data
    try:
        assert "Paygate is up" in second.wait_up()
        again = requests.get(
            f"{second.api}/api/v1/orders/{order['id']}", headers=TEST_HEADERS, timeout=10
        )
        assert again.status_code == 200 and again.json()["amount"] == 4200
    finally:
        stop_quietly(second)

    subprocess.run(
        ["make", "-s", "reset", f"EMULATOR_STATE_DIR={state}"], cwd=REPO, check=True, timeout=60
    )
    third = Run(stack_mode, state)  # `make reset`: empty again
    try:
        assert "Paygate is up" in third.wait_up()
        gone = requests.get(
            f"{third.api}/api/v1/orders/{order['id']}", headers=TEST_HEADERS, timeout=10
        )
        assert gone.status_code == 404
    finally:
        stop_quietly(third)
