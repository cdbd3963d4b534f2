"""The URL policy ON (as deployed) against a loopback listener: refused when saved, refused
again at each send, and nothing ever connects.

This module starts a stack of its own with WEBHOOK_ALLOW_PRIVATE_TARGETS=false (the shared
stack allows loopback receivers); TEST_MODE stays on, since it must not imply the allowance.
The seeded test merchant's URL comes from the environment, not through the API's check, so it
is what a URL saved before the policy tightened (or an address that rebinds) looks like at
send time.
"""

from __future__ import annotations

import os
import time

import pytest
import requests

from infra.local.hostile_receivers import HostileReceiver
from tests.e2e.test_foundation import headers_of, signup
from tests.support.stack import TEST_HEADERS, start_stack


@pytest.fixture(scope="module")
def listener():
    running = HostileReceiver("silent").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def strict_stack(tmp_path_factory, listener):
    # Starting a stack points this process's AWS_* environment at its emulator; the session's
    # shared stack (and the tests after this module) must keep theirs.
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    try:
        stack = start_stack(
            tmp_path_factory.mktemp("strict-stack-logs"),
            WEBHOOK_ALLOW_PRIVATE_TARGETS="false",
            TEST_MERCHANT_WEBHOOK_URL=listener.url,
        )
    finally:
        _restore(saved)
    yield stack
    stack.runtime.stop()
    _restore(saved)


def _restore(saved: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(saved)


def logs(stack, headers) -> list[dict]:
    response = requests.get(stack.api + "/api/v1/webhooks?limit=100", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/webhooks",
        "http://localhost:{port}/webhooks",
        "http://[::1]:{port}/webhooks",
        "http://127.0.0.1:{port}\\@example.com/",
        "http://2130706433:{port}/",
        "http://0x7f.0.0.1:{port}/",
        "http://127.0.0.1.:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[2002:7f00:1::]:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
    ],
)
def test_internal_urls_are_refused_when_saved(strict_stack, listener, template):
    headers = headers_of(signup(strict_stack))
    url = template.format(port=listener.port)
    response = requests.put(
        strict_stack.api + "/api/v1/webhooks/config",
        headers=headers,
        json={"webhook_url": url},
        timeout=10,
    )
    assert response.status_code == 400, (url, response.text)
    assert response.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    config = requests.get(
        strict_stack.api + "/api/v1/webhooks/config", headers=headers, timeout=10
    ).json()
    assert config["webhook_url"] is None
    assert listener.connections == 0


def test_a_loopback_url_already_stored_is_refused_at_every_send(strict_stack, listener):
    order = strict_stack.create_order(amount=1000)
    payment = strict_stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
    )
    assert payment.status_code == 201, payment.text
    sent = strict_stack.call("POST", "/api/v1/webhooks/test")
    assert sent.status_code == 202, sent.text
    wanted = {"payment.created", "payment.pending", "payment.success", "webhook.test"}

    def attempted():
        return {
            log["event"]: log for log in logs(strict_stack, TEST_HEADERS) if log["attempts"] >= 1
        }

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not wanted <= set(attempted()):
        time.sleep(0.2)
    seen = attempted()
    assert wanted <= set(seen), seen
    for event in wanted:
        log = seen[event]
        assert log["status"] in ("pending", "failed") and log["response_code"] is None
        assert log["response_body"].startswith("Refused by URL policy"), log["response_body"]
        assert "loopback" in log["response_body"]
    time.sleep(0.5)
    assert listener.connections == 0
