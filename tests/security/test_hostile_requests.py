"""Hostile and malformed requests get the error envelope, never a 5xx, a stack trace or HTML.

Oversized (> 64 KiB) and deeply nested JSON, malformed JSON (including what Python's parser
accepts but JSON does not: NaN, Infinity, numbers that overflow to infinity, lone surrogates),
wrong content types, wrong and unknown methods, unknown routes, non-ASCII digits.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.contract.spec import load_spec, served_operations
from tests.security.helpers import VALID_CARD, call, created, signup
from tests.support.stack import TEST_HEADERS

pytestmark = pytest.mark.e2e

MAX_BODY = 64 * 1024
SAMPLE_IDS = {
    "order_id": "order_0000000000000000",
    "payment_id": "pay_0000000000000000",
    "refund_id": "rfnd_0000000000000000",
    "log_id": "00000000-0000-4000-8000-000000000000",
    "event_id": "evt_0000000000000000",
    "endpoint_id": "we_0000000000000000",
}
# Every operation that reads a JSON body, and whether it needs the merchant's credentials.
BODY_OPERATIONS = [
    ("POST", "/api/v1/orders", True),
    ("POST", "/api/v1/payments", True),
    ("POST", "/api/v1/payments/public", False),
    ("POST", "/api/v1/payments/{payment_id}/capture", True),
    ("POST", "/api/v1/payments/{payment_id}/refunds", True),
    ("PUT", "/api/v1/webhooks/config", True),
    ("POST", "/api/v1/auth/signup", False),
    ("POST", "/api/v1/auth/login", False),
]
MALFORMED = [
    b"{",
    b"{'amount': 100}",
    b'{"amount": 100,}',
    b'{"amount": 100} trailing',
    b"NaN",
    b'{"amount": 100, "notes": {"x": NaN}}',
    b'{"amount": 100, "notes": {"x": Infinity}}',
    b'{"amount": 100, "notes": {"x": -Infinity}}',
    b'{"amount": 100, "notes": {"x": 1e400}}',
    b'{"amount": 100, "receipt": "\\ud800"}',
    b'{"amount": 100, "notes": {"\\udfff": 1}}',
    b'{"amount": 100, "receipt": "\xff\xfe"}',
    b"\x00",
    b'{"amount": ' + b"9" * 5000 + b"}",
    b"[" * 30000 + b"]" * 30000,
]
NOT_OBJECTS = [b"[]", b"null", b"123", b'"text"', b"true"]


def send(stack, method, path, body: bytes, content_type="application/json", auth=True):
    headers = {**(TEST_HEADERS if auth else {}), "Content-Type": content_type}
    return requests.request(
        method, stack.api + path.format(**SAMPLE_IDS), data=body, headers=headers, timeout=10
    )


def assert_envelope(response, status=400, code="BAD_REQUEST_ERROR") -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) <= {"code", "description", "request_id"}
    assert body["error"]["code"] == code and body["error"]["description"]
    assert "Traceback" not in response.text
    return body["error"]


def padded_order(size: int) -> bytes:
    """A valid order body of exactly `size` bytes."""
    head, tail = b'{"amount": 100, "notes": {"pad": "', b'"}}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def nested(levels: int) -> object:
    """`levels` objects, one inside the other."""
    value: object = "leaf"
    for _ in range(levels):
        value = {"n": value}
    return value


# ---------------------------------------------------------------- size and depth


@pytest.mark.parametrize("method,path,auth", BODY_OPERATIONS)
def test_oversized_bodies_are_refused(stack, method, path, auth):
    error = assert_envelope(send(stack, method, path, padded_order(MAX_BODY + 1), auth=auth))
    assert "too large" in error["description"]
    huge = send(stack, method, path, padded_order(MAX_BODY * 16), auth=auth)
    assert "too large" in assert_envelope(huge)["description"]


def test_the_size_limit_is_exactly_64_kib(stack):
    at_limit = send(stack, "POST", "/api/v1/orders", padded_order(MAX_BODY))
    assert at_limit.status_code == 201, at_limit.text[:300]
    over = send(stack, "POST", "/api/v1/orders", padded_order(MAX_BODY + 1))
    assert "too large" in assert_envelope(over)["description"]


@pytest.mark.parametrize("method,path,auth", BODY_OPERATIONS)
def test_deeply_nested_bodies_are_refused(stack, method, path, auth):
    body = json.dumps({"amount": 100, "notes": nested(40)}).encode()
    assert "nested" in assert_envelope(send(stack, method, path, body, auth=auth))["description"]
    bomb = b"[" * 30000 + b"]" * 30000
    assert_envelope(send(stack, method, path, bomb, auth=auth))


def test_nesting_up_to_the_limit_is_accepted(stack):
    body = json.dumps({"amount": 100, "notes": nested(31)}).encode()  # 32 with the body itself
    assert send(stack, "POST", "/api/v1/orders", body).status_code == 201
    deeper = json.dumps({"amount": 100, "notes": nested(32)}).encode()
    assert "nested" in assert_envelope(send(stack, "POST", "/api/v1/orders", deeper))["description"]


# ---------------------------------------------------------------- malformed JSON


@pytest.mark.parametrize("body", MALFORMED, ids=lambda b: repr(b[:40]))
@pytest.mark.parametrize("method,path,auth", BODY_OPERATIONS)
def test_malformed_json_is_refused(stack, method, path, auth, body):
    assert_envelope(send(stack, method, path, body, auth=auth))


@pytest.mark.parametrize("body", NOT_OBJECTS)
@pytest.mark.parametrize("method,path,auth", BODY_OPERATIONS)
def test_json_that_is_not_an_object_is_refused(stack, method, path, auth, body):
    response = send(stack, method, path, body, auth=auth)
    if path.endswith("/capture"):  # the body is optional there: the (unknown) payment comes first
        assert_envelope(response, 404, "NOT_FOUND_ERROR")
    else:
        assert_envelope(response)


def test_lone_surrogates_never_reach_storage(stack):
    for body in (
        {"name": "x", "email": f"{uuid.uuid4().hex}@example.com", "password": "\ud800" * 8},
        {"name": "\udfff", "email": f"{uuid.uuid4().hex}@example.com", "password": "long-enough"},
    ):
        raw = json.dumps(body).encode()  # ASCII escapes: the surrogate arrives as \ud800
        assert_envelope(send(stack, "POST", "/api/v1/auth/signup", raw, auth=False))
    raw = json.dumps({"email": "test@example.com", "password": "\ud800"}).encode()
    assert_envelope(send(stack, "POST", "/api/v1/auth/login", raw, auth=False))


# ---------------------------------------------------------------- content types


@pytest.mark.parametrize(
    "content_type,body",
    [
        ("application/x-www-form-urlencoded", b"amount=100&currency=INR"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="amount"\r\n\r\n100\r\n--x--\r\n',
        ),
        ("application/xml", b"<order><amount>100</amount></order>"),
        ("text/plain", b"amount: 100"),
        ("application/octet-stream", b"\x00\x01\x02\xff"),
        ("application/json; charset=latin-1", b'{"amount": 100, "receipt": "caf\xe9"}'),
    ],
)
def test_non_json_bodies_get_the_envelope(stack, content_type, body):
    assert_envelope(send(stack, "POST", "/api/v1/orders", body, content_type=content_type))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_json_under_another_content_type_is_read_as_json(stack, content_type):
    """Documented: the body is parsed as JSON whatever Content-Type says."""
    response = send(stack, "POST", "/api/v1/orders", b'{"amount": 100}', content_type=content_type)
    assert response.status_code == 201 and response.headers["Content-Type"] == "application/json"


# ---------------------------------------------------------------- methods and routes


def route_methods() -> dict[str, set[str]]:
    """Each path's methods, its CORS preflight (OPTIONS) included."""
    methods: dict[str, set[str]] = {}
    for path, method in served_operations(load_spec()):
        methods.setdefault(path, set()).add(method)
    return methods


@pytest.mark.parametrize("path", sorted(route_methods()))
def test_wrong_methods_get_a_405_envelope_with_allow(stack, path):
    allowed = route_methods()[path]
    for method in {"GET", "PUT", "POST", "DELETE", "PATCH"} - allowed:
        response = requests.request(
            method, stack.api + path.format(**SAMPLE_IDS), headers=TEST_HEADERS, timeout=5
        )
        assert_envelope(response, 405)
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, method


@pytest.mark.parametrize(
    "path", ["/", "/api", "/api/v1", "/api/v1/nothing", "/api/v1/orders/x/y", "/api/v2/orders"]
)
def test_unknown_routes_get_a_404_envelope(stack, path):
    for method in ("GET", "POST", "DELETE"):
        response = requests.request(method, stack.api + path, headers=TEST_HEADERS, timeout=5)
        assert_envelope(response, 404, "NOT_FOUND_ERROR")


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND"])
def test_unsupported_http_methods_get_the_envelope(stack, method):
    response = requests.request(method, stack.api + "/api/v1/orders", timeout=5)
    assert response.status_code in (404, 405)
    assert response.headers.get("Content-Type") == "application/json"
    assert response.json()["error"]["code"] in ("NOT_FOUND_ERROR", "BAD_REQUEST_ERROR")


# ---------------------------------------------------------------- credentials


def test_credential_failures_do_not_tell_which_part_was_wrong(stack):
    answers = []
    for headers in (
        {},
        {"X-Api-Key": "key_test_abc123"},
        {"X-Api-Key": "key_test_abc123", "X-Api-Secret": "secret_test_xyz788"},
        {"X-Api-Key": "key_unknown", "X-Api-Secret": "secret_test_xyz789"},
        {"X-Api-Secret": "secret_test_xyz789"},
        {"X-Api-Key": "k" * 3000, "X-Api-Secret": "s" * 3000},
    ):
        response = requests.get(stack.api + "/api/v1/merchant", headers=headers, timeout=5)
        error = assert_envelope(response, 401, "AUTHENTICATION_ERROR")
        answers.append(error["description"])
    assert set(answers) == {"Invalid API credentials"}
    for value in ("Bearer", "Bearer ", "Basic dGVzdDp0ZXN0", "Bearer a.b", "Bearer " + "x" * 5000):
        response = requests.get(
            stack.api + "/api/v1/merchant", headers={"Authorization": value}, timeout=5
        )
        assert_envelope(response, 401, "AUTHENTICATION_ERROR")


# ---------------------------------------------------------------- digits that are not ASCII


@pytest.mark.parametrize("query", ["limit=²", "offset=①", "limit=١٠", "limit=１０", "offset=٣"])
def test_non_ascii_digits_in_pagination_are_refused(stack, query):
    for path in ("/api/v1/payments", "/api/v1/webhooks"):
        assert_envelope(requests.get(f"{stack.api}{path}?{query}", headers=TEST_HEADERS, timeout=5))


@pytest.mark.parametrize(
    "card,code",
    [
        ({"number": "²" * 16}, "INVALID_CARD"),
        ({"number": "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢"}, "INVALID_CARD"),  # Arabic-Indic 4242...
        ({"number": "４２４２４２４２４２４２４２４２"}, "INVALID_CARD"),  # full-width
        ({"number": "4242424242424242", "expiry_month": "²"}, "EXPIRED_CARD"),
        ({"number": "4242424242424242", "expiry_year": "²²"}, "EXPIRED_CARD"),
        ({"number": "4242424242424242", "expiry_year": "٣٠"}, "EXPIRED_CARD"),
        ({"number": "4242424242424242", "cvv": "١٢٣"}, "BAD_REQUEST_ERROR"),
    ],
)
def test_non_ascii_digits_in_cards_are_refused(stack, card, code):
    order = created(call(stack, TEST_HEADERS, "POST", "/api/v1/orders", json={"amount": 100}))
    body = {"order_id": order["id"], "method": "card", "card": {**VALID_CARD, **card}}
    assert_envelope(call(stack, TEST_HEADERS, "POST", "/api/v1/payments", json=body), 400, code)


@pytest.mark.parametrize("url", ["http://[::1", "http://[not-an-ip]/hook"])
def test_unparsable_webhook_urls_are_refused(stack, url):
    headers = signup(stack)["headers"]
    response = call(stack, headers, "PUT", "/api/v1/webhooks/config", json={"webhook_url": url})
    assert_envelope(response)
