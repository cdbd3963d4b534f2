"""`make run`'s entry point as a user runs it: comes up, prints the URLs, Ctrl-C stops it all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.stack import free_port

REPO = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_runtime_comes_up_prints_urls_and_stops_on_ctrl_c():
    ports = {
        name: free_port()
        for name in ("API_PORT", "CHECKOUT_PORT", "DASHBOARD_PORT", "EMULATOR_PORT")
    }
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "STACK_NAME": "paygate-run"}
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.runtime"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        # Only a guard against a runtime that never gets ready. How fast it comes up is a figure
        # of `bench.payments`, not a pass mark here: on a loaded shared machine it took 27 s.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "Ctrl-C stops everything" in line or process.poll() is not None:
                break
        output = "".join(lines)
        ready = re.search(r"Paygate is up \(ready in ([\d.]+) s\)", output)
        assert ready, output
        assert f"http://localhost:{ports['API_PORT']}" in output
        assert f"http://localhost:{ports['CHECKOUT_PORT']}/checkout.js" in output
        assert f"http://localhost:{ports['DASHBOARD_PORT']}/login" in output
        health = requests.get(f"http://localhost:{ports['API_PORT']}/health", timeout=5).json()
        assert health["status"] == "healthy"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert "Paygate stopped." in process.stdout.read()
    time.sleep(0.5)
    assert not any(listening(port) for port in ports.values()), ports
