"""The local stack for e2e and browser tests: the same Runtime as `make run` (mode "local") or
`make run-stack` (mode "stack"), on free ports, with a fresh emulator state directory."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from infra.local.runtime import LOCAL, Runtime, RuntimeConfig

REPO = Path(__file__).resolve().parents[2]
TEST_KEY = "key_test_abc123"
TEST_SECRET = "secret_test_xyz789"
TEST_HEADERS = {"X-Api-Key": TEST_KEY, "X-Api-Secret": TEST_SECRET}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Run:
    """`python -m infra.local.runtime` (what `make run` runs) in a terminal of its own."""

    def __init__(self, mode: str, state_dir: Path, extra_env: dict[str, str] | None = None):
        self.ports = {
            name: free_port()
            for name in ("API_PORT", "CHECKOUT_PORT", "DASHBOARD_PORT", "EMULATOR_PORT")
        }
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}}
        env.update({"STACK_NAME": "paygate-run", "EMULATOR_STATE_DIR": str(state_dir)})
        env.update(extra_env or {})
        env.pop("AWS_ENDPOINT_URL", None)
        args = [sys.executable, "-m", "infra.local.runtime"] + (
            ["--stack"] if mode == "stack" else []
        )
        self.process = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own terminal: Ctrl-C reaches its process group only
        )
        self.lines: list[str] = []

    def wait_up(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            self.lines.append(line)
            if "Ctrl-C stops everything" in line or self.process.poll() is not None:
                break
        return "".join(self.lines)

    @property
    def api(self) -> str:
        found = re.search(r"^  API +(\S+)", "".join(self.lines), re.MULTILINE)
        assert found, "".join(self.lines)
        return found.group(1)

    def ctrl_c(self) -> str:
        """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=90)
        return "".join(self.lines) + self.process.stdout.read()


@dataclass
class Stack:
    runtime: Runtime

    @property
    def api(self) -> str:
        return self.runtime.api_url

    @property
    def mode(self) -> str:
        return self.runtime.config.mode

    @property
    def checkout(self) -> str:
        return self.runtime.config.url(self.runtime.config.checkout_port)

    @property
    def dashboard(self) -> str:
        return self.runtime.config.url(self.runtime.config.dashboard_port)

    @property
    def endpoint(self) -> str:
        return self.runtime.config.endpoint

    def logs(self) -> str:
        """Everything every process of the stack has logged so far."""
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.runtime.config.log_dir.glob("*.log"))
        )

    def call(self, method: str, path: str, headers: dict | None = None, **kwargs):
        """A request with the test merchant's credentials, from a loopback address of its own
        (sign-ups and failed sign-ins are limited per client address)."""
        with client_from() as client:
            return client.request(
                method,
                self.api + path,
                headers={**TEST_HEADERS, **(headers or {})},
                timeout=10,
                **kwargs,
            )

    @contextlib.contextmanager
    def bank_paused(self):
        """No payment settles inside the block (the workers stop consuming, as when the bank is
        slow); they resume after it, and what was queued meanwhile is processed then. For tests
        of what happens while a payment is pending, without racing the simulated bank time."""
        self.runtime.stop_workers()
        try:
            yield
        finally:
            self.runtime.start_workers()
            self.runtime.wait_ready(timeout=60)

    def create_order(self, amount: int = 50000, **extra) -> dict:
        response = self.call("POST", "/api/v1/orders", json={"amount": amount, **extra})
        assert response.status_code == 201, response.text
        return response.json()


def start_stack(log_dir, mode: str = LOCAL, **variables: str) -> Stack:
    """Start emulator, deploy, API, workers and static servers on free ports; the emulator's
    state lives in `log_dir`/state, empty at start."""
    config = RuntimeConfig(
        api_port=free_port(),
        checkout_port=free_port(),
        dashboard_port=free_port(),
        emulator_port=free_port(),
        stack_name="paygate-test",
        log_dir=log_dir,
        mode=mode,
        state_dir=log_dir / "state",
        variables={
            "TEST_MODE": "true",
            "TEST_PROCESSING_DELAY": "1000",
            "WEBHOOK_RETRY_INTERVALS_TEST": "true",
            # Test receivers listen on loopback: allowed explicitly (tests of the policy
            # start a stack of their own with it off).
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            **variables,
        },
    )
    runtime = Runtime(config)
    try:
        runtime.start()
    except Exception:
        runtime.stop()
        raise
    return Stack(runtime)


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address: str | None = None) -> requests.Session:
    """A session whose connections leave from `address` (a loopback address of its own by
    default): the API sees it as the caller's address, as API Gateway would, so per-address
    limits hit by one test never reach another."""
    octets = (random.randint(1, 254), random.randint(0, 255), random.randint(1, 254))
    address = address or "127.{}.{}.{}".format(*octets)
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _SourceAddressAdapter(address))
    session.address = address
    return session
