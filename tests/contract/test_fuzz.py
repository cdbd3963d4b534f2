"""Property-based fuzzing of every operation of `openapi.yaml` against the running local stack.

Schemathesis generates valid and invalid requests from the document (its examples, boundary
values, unexpected methods and random data), and every response must: never be a 5xx, have a
documented status, content type and headers, and match the documented body schema.

Bounded: `FUZZ_MAX_EXAMPLES` per operation (default 50) with a fixed seed (`FUZZ_SEED`), so a
run takes about a minute and a failure reproduces; raise both for a longer hunt, e.g.
`FUZZ_MAX_EXAMPLES=300 FUZZ_SEED=7 pytest tests/contract/test_fuzz.py`.

Calls are authenticated as the seeded test merchant, except the webhook operations
(`/api/v1/webhooks...`, `/api/v1/webhook_endpoints...`), which run as a merchant of the fuzzer's
own whose URLs (its webhook URL, its endpoints') can only ever be a local sink: the fuzzer must
neither change the seeded merchant's contract values (webhook secret, no URL) nor make the
workers call hosts it made up. Half of the generated ids (chosen
by checksum, so runs repeat) are swapped for ids that exist, so found-paths are fuzzed too.
"""

from __future__ import annotations

import os
import zlib
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.local.webhook_receiver import Receiver
from tests.contract.spec import SPEC_PATH, load_spec
from tests.security.helpers import VALID_CARD, call, created, paid_order, settled, signup, wait_for
from tests.support.stack import TEST_HEADERS, client_from

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
SEED = int(os.environ.get("FUZZ_SEED", "20260115"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
WEBHOOK_OPERATIONS = ("/api/v1/webhooks", "/api/v1/webhook_endpoints")

schema = schemathesis.openapi.from_path(
    SPEC_PATH,
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {
                "examples": {"enabled": True},
                # Other methods get the 405 envelope too (tests/security covers TRACE, PROPFIND).
                "coverage": {
                    "enabled": True,
                    "unexpected-methods": ["GET", "PUT", "POST", "DELETE", "PATCH"],
                },
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    ),
)


@pytest.fixture(scope="module")
def sink():
    """Where the fuzz merchant's webhooks may go: a local receiver that accepts everything."""
    receiver = Receiver("unused").start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def fuzz_merchant(stack, sink) -> dict:
    """The merchant of the webhook operations, its URL the sink, with one delivery logged."""
    headers = signup(stack, "Fuzz Shop")["headers"]
    saved = call(stack, headers, "PUT", "/api/v1/webhooks/config", json={"webhook_url": sink.url})
    assert saved.status_code == 200, saved.text
    test = call(stack, headers, "POST", "/api/v1/webhooks/test")
    assert test.status_code == 202, test.text
    endpoint = call(
        stack,
        headers,
        "POST",
        "/api/v1/webhook_endpoints",
        json={"url": sink.url, "enabled_events": ["payment.success"]},
    )
    assert endpoint.status_code == 201, endpoint.text
    return {"headers": headers, "log_id": test.json()["id"], "endpoint_id": endpoint.json()["id"]}


@pytest.fixture(scope="module")
def real_ids(stack, fuzz_merchant) -> dict[str, list[str]]:
    """Ids that exist: the seeded merchant's order, settled UPI and card payments and refund,
    and the fuzz merchant's webhook log."""
    order, upi = paid_order(stack, TEST_HEADERS, amount=50000)
    card_order = created(call(stack, TEST_HEADERS, "POST", "/api/v1/orders", json={"amount": 7000}))
    card = created(
        call(
            stack,
            TEST_HEADERS,
            "POST",
            "/api/v1/payments",
            json={
                "order_id": card_order["id"],
                "method": "card",
                "card": {**VALID_CARD, "number": "4242424242424242"},
            },
        )
    )
    settled(stack, TEST_HEADERS, card["id"])
    refund = created(
        call(
            stack,
            TEST_HEADERS,
            "POST",
            f"/api/v1/payments/{upi['id']}/refunds",
            json={"amount": 100},
        )
    )
    events = call(stack, TEST_HEADERS, "GET", "/api/v1/events?limit=5").json()["data"]
    assert events, "the seeded merchant's payments raised no events"
    yield {
        "event_id": [e["id"] for e in events],
        "order_id": [order["id"], card_order["id"]],
        "payment_id": [upi["id"], card["id"]],
        "refund_id": [refund["id"]],
        "log_id": [fuzz_merchant["log_id"]],
        "endpoint_id": [fuzz_merchant["endpoint_id"]],
    }

    # Leave no backlog for the tests that run after this module on the same stack.
    def drained():
        jobs = requests.get(stack.api + "/api/v1/test/jobs/status", timeout=5).json()
        return jobs["pending"] + jobs["processing"] == 0

    wait_for(drained, timeout=30)


def _pick(generated: object, choices: list[str]) -> object:
    """Half of the generated values (chosen by their checksum, so runs repeat) become an id
    that exists."""
    digest = zlib.crc32(repr(generated).encode())
    return choices[digest % len(choices)] if digest % 2 else generated


def _sink_only(url: object, sink_url: str) -> object:
    """An http(s) URL with a host, which the API would save, becomes the local sink's URL."""
    if not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return url
    return sink_url if parts.scheme in ("http", "https") and host else url


@pytest.fixture(scope="module")
def fuzz_client():
    """The fuzzer's own client address: the sign-ins it fails count against that address
    only, not against the one the browser tests sign in from."""
    session = client_from()
    yield session
    session.close()


@schema.parametrize()
def test_operation_conforms_to_the_spec(case, stack, real_ids, fuzz_merchant, sink, fuzz_client):
    for name, value in (case.path_parameters or {}).items():
        if name in real_ids:
            case.path_parameters[name] = _pick(value, real_ids[name])
    if isinstance(case.query, dict) and "starting_after" in case.query:
        case.query["starting_after"] = _pick(case.query["starting_after"], real_ids["event_id"])
    if isinstance(case.body, dict):
        if "order_id" in case.body:
            case.body["order_id"] = _pick(case.body["order_id"], real_ids["order_id"])
        if case.path == "/api/v1/webhooks/config" and "webhook_url" in case.body:
            case.body["webhook_url"] = _sink_only(case.body["webhook_url"], sink.url)
        if case.path.startswith("/api/v1/webhook_endpoints") and "url" in case.body:
            case.body["url"] = _sink_only(case.body["url"], sink.url)
        if "endpoint_id" in case.body:
            case.body["endpoint_id"] = _pick(case.body["endpoint_id"], real_ids["endpoint_id"])
    own = case.path.startswith(WEBHOOK_OPERATIONS)
    headers = fuzz_merchant["headers"] if own else TEST_HEADERS
    response = case.call_and_validate(
        base_url=stack.api,
        session=fuzz_client,
        headers=dict(headers),
        checks=CHECKS,
        timeout=10,
    )
    codes = documented_error_codes(case.path, case.method, response.status_code)
    if codes is not None:
        assert response.json()["error"]["code"] in codes, (response.status_code, response.text)


def documented_error_codes(path: str, method: str, status: int) -> list[str] | None:
    """The `x-error-codes` of the documented answer (the schema allows any `ErrorCode`)."""
    item = load_spec()["paths"].get(path, {})
    answer = item.get(method.lower(), {}).get("responses", {}).get(str(status))
    if answer is None:
        return None
    if "$ref" in answer:
        answer = load_spec()["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer.get("x-error-codes")
