"""`paygate listen` and `paygate trigger` as a developer runs them: the real commands that
`make setup` installs in .venv/bin, against the local stack, forwarding to a local receiver
(`infra/local/webhook_receiver.py`) that verifies both signature schemes with the session secret
the listener prints. A restart resumes after the last event, with the same secret."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from infra.local.webhook_receiver import Receiver
from tests.security.helpers import call, signup, wait_for

PAYGATE = Path(sys.executable).parent / "paygate"


class Listening:
    """A running `paygate listen`, its output read line by line as it comes."""

    def __init__(self, env: dict, forward_to: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [str(PAYGATE), "listen", "--forward-to", forward_to, "--interval", "0.2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def secret(self) -> str:
        found = wait_for(lambda: self._secret(), timeout=20)
        assert found, f"no signing secret printed: {self.lines}"
        return found

    def _secret(self) -> str | None:
        for line in self.lines:
            match = re.search(r"signing secret is (whsec_[A-Za-z0-9+/=]+)", line)
            if match:
                return match.group(1)
        return None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            assert self.process.wait(timeout=10) == 0
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def env(stack, tmp_path):
    """A fresh merchant's credentials (through the environment), and a private config dir."""
    account = signup(stack, "Listen Shop")
    return {
        **os.environ,
        "PAYGATE_API_URL": stack.api,
        "PAYGATE_API_KEY": account["api_key"],
        "PAYGATE_API_SECRET": account["api_secret"],
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


@pytest.fixture
def receiver():
    running = Receiver("set once listen prints it").start()
    yield running
    running.stop()


def trigger(env: dict, event: str) -> str:
    """Runs `paygate trigger EVENT`; returns the payment id it made."""
    result = subprocess.run(
        [str(PAYGATE), "trigger", event], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return re.search(r"Created payment (pay_\w+)", result.stdout).group(1)


def arrived(receiver: Receiver, payment_id: str) -> list:
    return [
        d
        for d in receiver.deliveries
        if d.event.get("data", {}).get("payment", {}).get("id") == payment_id
    ]


def test_setup_installs_the_command():
    assert PAYGATE.exists() and os.access(PAYGATE, os.X_OK), "make setup did not install paygate"
    result = subprocess.run([str(PAYGATE), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "listen" in result.stdout and "trigger" in result.stdout


def test_a_triggered_payment_arrives_signed_and_a_restart_resumes(stack, env, receiver):
    headers = {"X-Api-Key": env["PAYGATE_API_KEY"], "X-Api-Secret": env["PAYGATE_API_SECRET"]}
    listening = Listening(env, receiver.url)
    try:
        secret = listening.secret()
        receiver.secret = secret

        payment_id = trigger(env, "payment.success")
        names = {"payment.created", "payment.pending", "payment.success", "order.paid"}
        got = wait_for(lambda: len(arrived(receiver, payment_id)) >= 4, timeout=20)
        assert got, f"events did not arrive: {listening.lines}"
        deliveries = arrived(receiver, payment_id)
        assert {d.event["event"] for d in deliveries} == names
        for delivery in deliveries:
            assert delivery.legacy_ok and delivery.standard_ok, delivery.headers
            assert delivery.headers["webhook-id"] == delivery.event["id"]
            stored = call(stack, headers, "GET", f"/api/v1/events/{delivery.event['id']}").json()
            assert delivery.body == stored["payload"].encode()  # byte for byte
        shown = wait_for(
            lambda: (
                lines
                if len(
                    lines := [
                        line for line in listening.lines if "[200]" in line and "POST" in line
                    ]
                )
                >= 4
                else None
            ),
            timeout=5,
        )
        assert len(shown) == 4 and all(receiver.url in line for line in shown), listening.lines
    finally:
        listening.stop()

    # While it is stopped, a payment fails; the restarted listener delivers just that.
    missed = trigger(env, "payment.failed")
    before = len(receiver.deliveries)
    listening = Listening(env, receiver.url)
    try:
        assert listening.secret() == secret, "the session secret changed across a restart"
        got = wait_for(lambda: len(arrived(receiver, missed)) >= 3, timeout=20)
        assert got, f"missed events did not arrive: {listening.lines}"
        time.sleep(1)  # a few more polls: nothing may come twice
        names = sorted(d.event["event"] for d in receiver.deliveries[before:])
        assert names == ["payment.created", "payment.failed", "payment.pending"]
        assert all(d.legacy_ok and d.standard_ok for d in receiver.deliveries)
        assert len({d.event["id"] for d in receiver.deliveries}) == len(receiver.deliveries)
    finally:
        listening.stop()
