"""The local stack for e2e and browser tests: the same Runtime as `make run`, on free ports."""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from infra.local.runtime import Runtime, RuntimeConfig

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
        return self.runtime.config.url(self.runtime.config.api_port)

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


def start_stack(log_dir, **variables: str) -> Stack:
    """Start emulator, deploy, API, workers and static servers on free ports."""
    config = RuntimeConfig(
        api_port=free_port(),
        checkout_port=free_port(),
        dashboard_port=free_port(),
        emulator_port=free_port(),
        stack_name="paygate-test",
        log_dir=log_dir,
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
