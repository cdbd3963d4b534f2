"""The local API Gateway stand-in: routes from the template, proxy events, gateway responses and
the chunked-body reader."""

from __future__ import annotations

import io
import json
import socket
import struct
import sys
import threading
import time

import pytest
from chalice import Blueprint, Chalice

from infra.local import api_gateway
from infra.local.api_server import BadRequestBody, TooLarge, make_server, read_chunked


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


@pytest.fixture
def local_gateway():
    """The local gateway on a free port, in front of a function that must not be reached."""

    def function(event, context):
        raise AssertionError("the gateway answers these requests itself")

    server = make_server("127.0.0.1", 0, function, "paygate-api", 10)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _raw(port: int, request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    "request_line, status",
    [
        (b"GET /api/v1/events?x=" + b"a" * 70000 + b" HTTP/1.1", 414),
        (b"GET /api/v1/events HTTP/1.1 extra", 400),
        (b"BROKEN", 400),
    ],
    ids=["uri-too-long", "bad-request-line", "no-version"],
)
def test_what_the_local_gateway_refuses_itself_is_in_the_envelope_with_a_request_id(
    local_gateway, request_line, status
):
    """b01: an oversized URL answered 414 without a request_id (http.server's own refusal)."""
    code, headers, body = _raw(local_gateway, request_line + b"\r\nHost: x\r\n\r\n")
    assert code == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "BAD_REQUEST_ERROR" and error["description"]
    assert error["request_id"] and error["request_id"] == headers["x-amzn-requestid"]


def test_a_client_gone_before_its_answer_leaves_no_traceback(capfd):
    """A browser aborting a fetch: the answer meets a closed socket. Nobody is left to answer,
    and the log stays quiet (it printed a BrokenPipeError traceback per aborted request)."""
    answered = threading.Event()

    def function(event, context):
        time.sleep(0.3)  # the client is gone by then
        answered.set()
        return {"statusCode": 200, "headers": {}, "body": "x" * 1_000_000}

    server = make_server("127.0.0.1", 0, function, "paygate-api", 10)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    try:
        sock = socket.create_connection(server.server_address, timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.close()  # a reset, as an aborted fetch
        assert answered.wait(5)
        time.sleep(0.3)  # the handler writes, meets the reset, and ends
    finally:
        server.shutdown()
        server.server_close()
    assert "Traceback" not in capfd.readouterr().err


ECHO = api_gateway.Route("/echo/{who}", api_gateway._compile("/echo/{who}"), frozenset({"GET"}))


def _echo_event(who: str) -> dict:
    """The proxy event of GET /echo/{who}, as the local API Gateway builds it."""
    return api_gateway.proxy_event(
        ECHO, {"who": who}, "GET", f"/echo/{who}", [], b"", "api", "127.0.0.1"
    )


def test_concurrent_requests_each_see_their_own_request():
    """The server runs a thread per connection into one Chalice app, which keeps the request
    being served on the app (`bp.current_request`). Shared, a view read the request of another
    thread: a dashboard fetch was answered as the CORS preflight beside it (204, no body), or
    with its missing token (401, and the dashboard signed out: the phone-screen flake)."""
    app, bp = Chalice(app_name="echo"), Blueprint(__name__)

    @bp.route("/echo/{who}", methods=["GET"])
    def echo(who):
        return {"asked": who, "seen": bp.current_request.uri_params["who"]}

    app.register_blueprint(bp)
    server = make_server("127.0.0.1", 0, app, "paygate-api", 10)
    server.server_close()
    answers: list[dict] = []

    def ask(who: str) -> None:
        for _ in range(3000):
            answers.append(json.loads(server.handler(_echo_event(who), None)["body"]))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as a starved machine does
    try:
        threads = [threading.Thread(target=ask, args=(str(n),)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    mixed = [answer for answer in answers if answer["asked"] != answer["seen"]]
    assert len(answers) == 12000 and not mixed, f"{len(mixed)} answered for another request"
