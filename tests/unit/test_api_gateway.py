"""The local API Gateway stand-in: routes from the template, proxy events, gateway responses and
the chunked-body reader."""

from __future__ import annotations

import io
import json

import pytest

from infra.local import api_gateway
from infra.local.api_server import BadRequestBody, TooLarge, read_chunked


@pytest.fixture(scope="module")
def loaded():
    return api_gateway.load()


def test_routes_are_the_template_events(loaded):
    routes, _, stage = loaded
    by_resource = {r.resource: r.methods for r in routes}
    assert stage == "api"
    assert by_resource["/api/v1/orders"] == {"POST", "OPTIONS", "ANY"}
    assert by_resource["/health"] == {"GET", "ANY"}


def test_literal_segments_win_over_parameters(loaded):
    routes, _, _ = loaded
    route, params = api_gateway.match(routes, "POST", "/api/v1/payments/public")
    assert route.resource == "/api/v1/payments/public" and params == {}
    route, params = api_gateway.match(routes, "GET", "/api/v1/payments/pay_1%2F2/")
    assert route.resource == "/api/v1/payments/{payment_id}"
    assert params == {"payment_id": "pay_1/2"}  # decoded, trailing slash ignored


def test_unknown_paths_and_methods_without_a_route():
    routes = [
        api_gateway.Route(r, api_gateway._compile(r), frozenset(m))
        for r, m in (("/a/fixed", {"POST"}), ("/a/{id}", {"GET"}))
    ]
    assert api_gateway.match(routes, "GET", "/nothing") is None
    # The literal resource exists without GET: API Gateway does not fall back to /a/{id}.
    routes.sort(key=lambda r: api_gateway._specificity(r.resource))
    assert api_gateway.match(routes, "GET", "/a/fixed") is None
    assert api_gateway.match(routes, "GET", "/a/other")[1] == {"id": "other"}


def test_proxy_event_has_the_rest_api_shape(loaded):
    routes, _, stage = loaded
    route, params = api_gateway.match(routes, "GET", "/api/v1/orders/order_x")
    event = api_gateway.proxy_event(
        route,
        params,
        "GET",
        "/api/v1/orders/order_x?a=1&a=2&b=",
        [("X-Api-Key", "k"), ("Accept", "a"), ("Accept", "b")],
        b"\xff{}",
        stage,
        "127.0.0.1",
    )
    assert event["resource"] == "/api/v1/orders/{order_id}"
    assert event["requestContext"]["resourcePath"] == "/api/v1/orders/{order_id}"
    assert event["requestContext"]["path"] == "/api/api/v1/orders/order_x"
    assert event["requestContext"]["requestId"]
    assert event["pathParameters"] == {"order_id": "order_x"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"]["Accept"] == "b"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["body"] == "\ufffd{}" and event["isBase64Encoded"] is False


def test_gateway_responses_follow_the_template(loaded):
    _, responses, _ = loaded
    missing = api_gateway.gateway_response(responses, "MISSING_AUTHENTICATION_TOKEN", "Missing")
    assert missing.status == 404
    assert json.loads(missing.body)["error"]["code"] == "NOT_FOUND_ERROR"
    too_large = api_gateway.gateway_response(
        responses, "REQUEST_TOO_LARGE", 'Too "long"', request_id="req-1"
    )
    assert too_large.status == 413
    assert json.loads(too_large.body) == {
        "error": {"code": "BAD_REQUEST_ERROR", "description": 'Too "long"', "request_id": "req-1"}
    }
    failed = api_gateway.gateway_response(responses, "INTEGRATION_FAILURE", "boom")
    assert json.loads(failed.body)["error"]["code"] == "INTERNAL_ERROR"


def test_chunked_reader():
    body = b"5\r\nhello\r\n6;ext=x\r\n world\r\n0\r\nTrailer: y\r\n\r\nNEXT"
    stream = io.BytesIO(body)
    assert read_chunked(stream, 100) == b"hello world"
    assert stream.read() == b"NEXT"  # the next request on the connection is untouched


@pytest.mark.parametrize(
    "body", [b"zz\r\nab\r\n0\r\n\r\n", b"5\r\nabc", b"3\r\nabcdef\r\n0\r\n\r\n", b""]
)
def test_chunked_reader_refuses_broken_framing(body):
    with pytest.raises(BadRequestBody):
        read_chunked(io.BytesIO(body), 100)


def test_chunked_reader_stops_at_the_payload_quota():
    with pytest.raises(TooLarge):
        read_chunked(io.BytesIO(b"80\r\n" + b"x" * 128 + b"\r\n0\r\n\r\n"), 100)
