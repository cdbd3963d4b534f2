"""CORS: only the configured origins (the dashboard's and the checkout's) are ever allowed."""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import pytest
import requests

from tests.contract.spec import load_spec, preflight_paths
from tests.support.stack import TEST_HEADERS

pytestmark = pytest.mark.e2e

CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Credentials",
)
PREFLIGHT_PATHS = sorted(preflight_paths(load_spec()))
SAMPLE_IDS = {
    "order_id": "order_0000000000000000",
    "payment_id": "pay_0000000000000000",
    "refund_id": "rfnd_0000000000000000",
    "log_id": "00000000-0000-4000-8000-000000000000",
    "event_id": "evt_0000000000000000",
    "endpoint_id": "we_0000000000000000",
}


def lookalikes(origin: str) -> list[str]:
    """Origins that are not the allowed one but resemble it."""
    parts = urlsplit(origin)
    host, port = parts.hostname, parts.port
    return [
        "https://evil.example",
        "null",
        origin + ".evil.example",
        origin + "/",
        f"https://{host}:{port}",
        f"{parts.scheme}://{host}:{port + 1}",
        f"{parts.scheme}://evil{host}:{port}",
        f"{parts.scheme}://{host}.evil.example:{port}",
        origin[:-1],
        origin.upper(),
        f"{origin}, https://evil.example",
        "*",
    ]


def preflight(stack, path: str, origin: str) -> requests.Response:
    return requests.options(
        stack.api + path.format(**SAMPLE_IDS),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key,x-api-secret",
        },
        timeout=5,
    )


@pytest.mark.parametrize("path", PREFLIGHT_PATHS)
def test_preflight_allows_the_dashboard_and_the_checkout(stack, path):
    for origin in (stack.dashboard, stack.checkout):
        response = preflight(stack, path, origin)
        assert response.status_code == 204, response.text
        assert response.headers["Access-Control-Allow-Origin"] == origin
        allowed_headers = response.headers["Access-Control-Allow-Headers"].lower().split(",")
        assert {"x-api-key", "x-api-secret", "idempotency-key", "authorization"} <= set(
            allowed_headers
        )
        assert "Origin" in response.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("path", PREFLIGHT_PATHS)
def test_preflight_from_any_other_origin_allows_nothing(stack, path):
    for origin in lookalikes(stack.dashboard) + lookalikes(stack.checkout):
        response = preflight(stack, path, origin)
        assert response.status_code == 204
        present = [h for h in CORS_HEADERS if h in response.headers]
        assert present == [], (origin, present)


@pytest.mark.parametrize(
    "method,path,headers,status",
    [
        ("GET", "/api/v1/merchant", TEST_HEADERS, 200),
        ("GET", "/api/v1/merchant", {}, 401),
        ("GET", "/api/v1/orders/order_0000000000000000", TEST_HEADERS, 404),
        ("POST", "/api/v1/orders", TEST_HEADERS, 400),
        ("GET", "/api/v1/test/merchant", {}, 200),
        ("DELETE", "/api/v1/orders", TEST_HEADERS, 405),
    ],
)
def test_actual_responses_carry_the_origin_only_when_allowed(stack, method, path, headers, status):
    """Errors too: the dashboard can read its own 401/404 but no other page can read any."""
    for origin in (stack.dashboard, stack.checkout):
        response = requests.request(
            method, stack.api + path, headers={**headers, "Origin": origin}, timeout=5
        )
        assert response.status_code == status, response.text
        assert response.headers.get("Access-Control-Allow-Origin") == origin
    for origin in lookalikes(stack.dashboard):
        response = requests.request(
            method, stack.api + path, headers={**headers, "Origin": origin}, timeout=5
        )
        assert response.status_code == status
        assert [h for h in CORS_HEADERS if h in response.headers] == [], origin


def test_wildcard_is_never_answered(stack):
    for path in PREFLIGHT_PATHS:
        response = preflight(stack, path, "*")
        assert response.headers.get("Access-Control-Allow-Origin") != "*"
    response = requests.get(
        stack.api + "/health", headers={"Origin": "https://x.example"}, timeout=5
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_configured_origins_are_only_the_dashboards_and_the_checkouts(stack):
    """What the API function is deployed with, and that each of those origins is honoured: the
    local sites (the CorsAllowedOrigins parameter, locally) and, where the emulator created
    them, the two CloudFront distributions' HTTPS origins; nothing else (tests/infra checks
    the template's list)."""
    client = boto3.client(
        "lambda",
        endpoint_url=stack.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    configured = [
        variables["CORS_ALLOWED_ORIGINS"]
        for function in client.list_functions()["Functions"]
        if "CORS_ALLOWED_ORIGINS" in (variables := function["Environment"]["Variables"])
    ]
    assert len(configured) == 1
    origins = configured[0].split(",")
    local = {
        f"http://{host}:{urlsplit(site).port}"
        for site in (stack.dashboard, stack.checkout)
        for host in ("localhost", "127.0.0.1")
    }
    outputs = stack.runtime.deployment["outputs"]
    cdn = {outputs[name] for name in ("DashboardUrl", "SdkUrl") if name in outputs}
    assert all(origin.startswith("https://") for origin in cdn)
    assert len(origins) == len(set(origins)) and set(origins) == local | cdn, origins
    for origin in origins:
        response = preflight(stack, "/api/v1/orders", origin)
        assert response.headers.get("Access-Control-Allow-Origin") == origin
