"""The local stack for e2e and browser tests: the same Runtime as `make run` (mode "local") or
`make run-stack` (mode "stack"), on free ports, with a fresh emulator state directory."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import requests

from infra.local.runtime import LOCAL, Runtime, RuntimeConfig

TEST_KEY = "key_test_abc123"
TEST_SECRET = "secret_test_xyz789"
TEST_HEADERS = {"X-Api-Key": TEST_KEY, "X-Api-Secret": TEST_SECRET}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        return requests.request(
            method,
            self.api + path,
            headers={**TEST_HEADERS, **(headers or {})},
            timeout=10,
            **kwargs,
        )

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
