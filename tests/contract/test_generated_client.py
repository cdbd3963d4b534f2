"""A Python client generated from `openapi.yaml` as an integrator would make it: no warnings,
and it works against the running local stack, its answers typed, its errors included.

`openapi-python-client` (pinned in requirements.txt) generates into a temporary directory; the
client is imported from there and drives a flow: create an order and a payment, read the
payment until it settles, list and read its events, then three failures (401, 404, 400) that
must each parse as the one typed `Error` model.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.contract.spec import SPEC_PATH
from tests.support.stack import TEST_HEADERS

pytestmark = pytest.mark.e2e

PACKAGE = "paygate_generated_client"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """(the generator's output, the imported client package)."""
    out = tmp_path_factory.mktemp("client")
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(SPEC_PATH),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # The generator formats its output with ruff, found on PATH as an integrator's would be.
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    sys.path.insert(0, str(out))
    try:
        yield result, (importlib.import_module(PACKAGE) if result.returncode == 0 else None)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def client(generated, stack):
    _, package = generated
    assert package is not None, "the client was not generated"
    return package.Client(base_url=stack.api, headers=dict(TEST_HEADERS), timeout=10)


def test_generation_gives_no_warning(generated):
    result, _ = generated
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for sign in ("Warning", "WARNING", "Unable to", "Skipping", "duplicate", "Error("):
        assert sign not in output, output
    assert output.strip() == f"Generating {Path(result.args[-1])}", output


def test_preflights_are_not_client_functions(generated):
    result, _ = generated
    api_dir = Path(result.args[-1]) / "api"
    functions = {p.stem for p in api_dir.rglob("*.py") if p.stem != "__init__"}
    assert functions and not [f for f in functions if "preflight" in f]
    assert {"create_order", "create_payment", "get_payment", "list_events", "get_event"} <= (
        functions
    )


def test_order_and_payment_flow_comes_back_typed(client):
    models = module("models")
    create_order = module("api.orders.create_order")
    create_payment = module("api.payments.create_payment")
    get_payment = module("api.payments.get_payment")

    order = create_order.sync_detailed(
        client=client, body=models.CreateOrderRequest(amount=50000, receipt="gen-client")
    )
    assert order.status_code == 201, order.content
    assert isinstance(order.parsed, models.Order)
    assert order.parsed.amount == 50000 and order.parsed.receipt == "gen-client"

    payment = create_payment.sync_detailed(
        client=client,
        body=models.UpiPaymentRequest(order_id=order.parsed.id, method="upi", vpa="success@okbank"),
        idempotency_key=f"gen-client-{time.time_ns()}",
    )
    assert payment.status_code == 201, payment.content
    assert isinstance(payment.parsed, models.UpiPayment)
    assert payment.parsed.status == models.PaymentStatus.PENDING

    deadline = time.monotonic() + 15
    while True:
        read = get_payment.sync_detailed(payment.parsed.id, client=client)
        assert read.status_code == 200 and isinstance(read.parsed, models.UpiPayment)
        if read.parsed.status != models.PaymentStatus.PENDING or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert read.parsed.status == models.PaymentStatus.SUCCESS
    assert read.parsed.vpa == "success@okbank" and read.parsed.order_id == order.parsed.id


def test_events_come_back_typed(client):
    models = module("models")
    list_events = module("api.events.list_events")
    get_event = module("api.events.get_event")
    page = list_events.sync_detailed(client=client, limit=3)
    assert page.status_code == 200, page.content
    assert isinstance(page.parsed, models.EventList) and page.parsed.data
    first = page.parsed.data[0]
    assert isinstance(first, models.Event) and isinstance(first.event, models.EventName)
    one = get_event.sync_detailed(first.id, client=client)
    assert one.status_code == 200 and one.parsed.payload == first.payload


def test_errors_parse_as_the_typed_error_model(client, generated, stack):
    _, package = generated
    models = module("models")
    get_payment = module("api.payments.get_payment")
    create_order = module("api.orders.create_order")

    stranger = package.Client(
        base_url=stack.api,
        headers={"X-Api-Key": "key_nobody", "X-Api-Secret": "wrong"},
        timeout=10,
    )
    cases = [
        (get_payment.sync_detailed("pay_0000000000000000", client=stranger), 401),
        (get_payment.sync_detailed("pay_0000000000000000", client=client), 404),
        (create_order.sync_detailed(client=client, body=models.CreateOrderRequest(amount=5)), 400),
    ]
    expected = {
        401: models.ErrorCode.AUTHENTICATION_ERROR,
        404: models.ErrorCode.NOT_FOUND_ERROR,
        400: models.ErrorCode.BAD_REQUEST_ERROR,
    }
    for response, status in cases:
        assert response.status_code == status, response.content
        assert isinstance(response.parsed, models.Error), (status, response.content)
        assert isinstance(response.parsed.error, models.ErrorDetail)
        assert response.parsed.error.code == expected[status]
        assert response.parsed.error.description
