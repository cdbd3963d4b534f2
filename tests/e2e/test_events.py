"""The events API end to end: every event of a merchant (with or without a webhook URL), pages
that cover a long history exactly once, filters, hostile cursors and ids, and isolation."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.security.helpers import bearer, call, created, settled, signup, wait_for
from tests.support.stack import TEST_HEADERS

PAYMENTS = 12  # 3 events each: payment.created, payment.pending, payment.success/failed


def events(stack, headers, query: str = "") -> dict:
    response = call(stack, headers, "GET", "/api/v1/events" + query)
    assert response.status_code == 200, response.text
    return response.json()


def every_page(stack, headers, limit: int, query: str = "") -> list[dict]:
    seen, cursor = [], ""
    for _ in range(500):
        page = events(stack, headers, f"?limit={limit}{query}{cursor}")
        assert page["limit"] == limit and len(page["data"]) <= limit
        seen += page["data"]
        if not page["has_more"]:
            return seen
        assert len(page["data"]) == limit
        cursor = f"&starting_after={page['data'][-1]['id']}"
    raise AssertionError("pagination did not end")


@pytest.fixture(scope="module")
def shop(stack):
    """A merchant without a webhook URL: 12 payments (every 4th fails) and one refund, all
    settled before the tests look."""
    account = signup(stack, "Events Shop")
    headers = account["headers"]
    payments = []
    for n in range(PAYMENTS):
        order = created(call(stack, headers, "POST", "/api/v1/orders", json={"amount": 1000 + n}))
        vpa = "failure@okbank" if n % 4 == 3 else "success@okbank"
        body = {"order_id": order["id"], "method": "upi", "vpa": vpa}
        payments.append(created(call(stack, headers, "POST", "/api/v1/payments", json=body)))
    payments = [settled(stack, headers, p["id"], timeout=20) for p in payments]
    refund = created(
        call(
            stack,
            headers,
            "POST",
            f"/api/v1/payments/{payments[0]['id']}/refunds",
            json={"amount": 100},
        )
    )
    path = f"/api/v1/refunds/{refund['id']}"
    processed = wait_for(
        lambda: call(stack, headers, "GET", path).json()["status"] == "processed", timeout=15
    )
    assert processed, "the refund was not processed"
    paid = sum(p["status"] == "success" for p in payments)  # each raised order.paid too
    expected = 3 * PAYMENTS + paid + 2  # and refund.created, refund.processed: then nothing moves
    assert wait_for(lambda: len(every_page(stack, headers, 100)) == expected, timeout=10)
    return {"headers": headers, "payments": payments, "refund": refund, "count": expected}


def test_every_event_is_kept_without_a_webhook_url(stack, shop):
    listed = every_page(stack, shop["headers"], 100)
    names = [e["event"] for e in listed]
    assert names.count("payment.created") == names.count("payment.pending") == PAYMENTS
    assert names.count("payment.failed") == PAYMENTS // 4
    assert names.count("payment.success") == PAYMENTS - PAYMENTS // 4
    assert names.count("order.paid") == PAYMENTS - PAYMENTS // 4
    assert names.count("refund.created") == names.count("refund.processed") == 1
    mentioned = {e["data"]["payment"]["id"] for e in listed}
    assert mentioned == {p["id"] for p in shop["payments"]}
    # Nothing was delivered (no URL), yet everything is there; no webhook log was made.
    logs = call(stack, shop["headers"], "GET", "/api/v1/webhooks").json()
    assert logs["total"] == 0


def test_an_event_is_the_webhook_body_plus_its_exact_bytes(stack, shop):
    listed = every_page(stack, shop["headers"], 100)
    for event in listed[:10]:
        assert set(event) == {"id", "event", "timestamp", "data", "created_at", "payload"}
        body = json.loads(event["payload"])
        assert body == {k: event[k] for k in ("id", "event", "timestamp", "data")}
        assert list(body) == ["id", "event", "timestamp", "data"]
        assert event["payload"] == json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        one = call(stack, shop["headers"], "GET", f"/api/v1/events/{event['id']}")
        assert one.status_code == 200 and one.json() == event


def test_newest_first_and_every_page_size_sees_each_event_once(stack, shop):
    everything = every_page(stack, shop["headers"], 100)
    keys = [(e["created_at"], e["id"]) for e in everything]
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == shop["count"]
    for limit in (1, 4, 10, 37):
        assert [e["id"] for e in every_page(stack, shop["headers"], limit)] == [
            e["id"] for e in everything
        ]
    assert events(stack, shop["headers"])["limit"] == 10  # the default


def test_filters(stack, shop):
    headers = shop["headers"]
    everything = every_page(stack, headers, 100)
    failed = every_page(stack, headers, 3, "&type=payment.failed")
    assert [e["id"] for e in failed] == [
        e["id"] for e in everything if e["event"] == "payment.failed"
    ]
    middle = everything[len(everything) // 2]["created_at"]
    newer = every_page(stack, headers, 5, f"&created_gte={middle}")
    older = every_page(stack, headers, 5, f"&created_lt={middle}")
    assert [e["id"] for e in newer + older] == [e["id"] for e in everything]
    assert all(e["created_at"] >= middle for e in newer)
    # Unix seconds and other zones mean the same instant.
    moment = datetime.fromisoformat(middle.replace("Z", "+00:00"))
    whole_second = int(moment.timestamp())
    by_unix = every_page(stack, headers, 100, f"&created_gte={whole_second}")
    assert all(e["created_at"] >= moment.strftime("%Y-%m-%dT%H:%M:%S") for e in by_unix)
    assert len(by_unix) >= len(newer)
    window = every_page(
        stack, headers, 100, f"&type=payment.success&created_gte={middle}&created_lt=9999999999"
    )
    assert [e["id"] for e in window] == [e["id"] for e in newer if e["event"] == "payment.success"]
    empty = events(stack, headers, f"?created_gte={middle}&created_lt={middle}")
    assert empty == {"data": [], "has_more": False, "limit": 10}


@pytest.mark.parametrize(
    "query",
    [
        "?type=payment.succeeded",
        "?type=payment.*",
        "?created_gte=yesterday",
        "?created_lt=2026-01-15",
        "?created_lt=2026-01-15T10:31:00",
        "?limit=0",
        "?limit=101",
        "?limit=-1",
        "?offset=10",
        "?starting_after=evt_short",
        "?starting_after=pay_0000000000000000",
        "?starting_after=" + "evt_" + "a" * 5000,
        "?starting_after=evt_%00aaaaaaaaaaaaaaa",
        "?starting_after=evt_aaaaaaaaaaaaaaa%27",
        "?limit=05",
        "?limit=007",
        "?limit=1&limit=100",
        "?type=payment.success&type=payment.failed",
        "?created_gte=2026-01-01T00:00:00Z&created_gte=2026-01-02T00:00:00Z",
    ],
)
def test_bad_queries_answer_400_in_the_envelope(stack, shop, query):
    response = call(stack, shop["headers"], "GET", "/api/v1/events" + query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BAD_REQUEST_ERROR"


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/webhooks", "/api/v1/payments"])
def test_every_list_refuses_a_repeated_parameter_and_a_limit_with_leading_zeros(stack, shop, path):
    """One page parser for every list: a parameter given twice is ambiguous (API Gateway
    would hand the function only the last), and `05` is not how a limit is written."""
    for query in ("?limit=1&limit=100", "?limit=05"):
        response = call(stack, shop["headers"], "GET", path + query)
        assert response.status_code == 400, (path, query, response.text)
        error = response.json()["error"]
        assert error["code"] == "BAD_REQUEST_ERROR" and "limit" in error["description"]
    assert call(stack, shop["headers"], "GET", path + "?limit=5").status_code == 200


@pytest.fixture(scope="module", params=["other-api-key", "seeded-merchant", "other-bearer-token"])
def intruder(request, stack) -> dict:
    if request.param == "seeded-merchant":
        return dict(TEST_HEADERS)
    account = signup(stack, "Nosy Shop")
    return account["headers"] if request.param == "other-api-key" else bearer(stack, account)


def without_request_id(body: dict) -> dict:
    return {"error": {k: v for k, v in body["error"].items() if k != "request_id"}}


def test_another_merchants_events_are_unknown_by_id_and_as_a_cursor(stack, shop, intruder):
    owned = every_page(stack, shop["headers"], 100)
    unknown_id = "evt_" + "Z" * 16
    for event in owned[:: max(1, len(owned) // 8)]:
        foreign = call(stack, intruder, "GET", f"/api/v1/events/{event['id']}")
        unknown = call(stack, intruder, "GET", f"/api/v1/events/{unknown_id}")
        assert foreign.status_code == unknown.status_code == 404
        assert without_request_id(foreign.json()) == without_request_id(unknown.json())
        foreign = call(stack, intruder, "GET", f"/api/v1/events?starting_after={event['id']}")
        unknown = call(stack, intruder, "GET", f"/api/v1/events?starting_after={unknown_id}")
        assert foreign.status_code == unknown.status_code == 400
        assert without_request_id(foreign.json()) == without_request_id(unknown.json())
    theirs = {e["id"] for e in every_page(stack, intruder, 100)}
    assert not theirs & {e["id"] for e in owned}


@pytest.mark.parametrize(
    "event_id",
    ["evt_short", "evt_" + "a" * 17, "pay_0000000000000000", "EVT_0000000000000000", "x" * 3000],
)
def test_malformed_ids_are_simply_not_found(stack, shop, event_id):
    response = call(stack, shop["headers"], "GET", f"/api/v1/events/{event_id}")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "NOT_FOUND_ERROR"


def test_events_need_credentials(stack, shop):
    event_id = events(stack, shop["headers"])["data"][0]["id"]
    for path in ("/api/v1/events", f"/api/v1/events/{event_id}"):
        response = call(stack, {"X-Api-Key": "key_test_abc123", "X-Api-Secret": "no"}, "GET", path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AUTHENTICATION_ERROR"


def test_pages_of_big_events_stay_under_lambdas_response_limit(stack):
    """a24: order.paid embeds the order (notes up to ~60 KB) twice, so 100 of them made a page
    of more than 6 MB, which Lambda refuses to return. A page now stops short by size, says
    has_more, and the pages still cover every event exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    headers = signup(stack, "Big Notes Shop")["headers"]
    notes = {"blob": 'x"' * 20000}  # 60 KB sent; every escaping on the way grows it

    def paid(n: int) -> str:
        order = created(
            call(stack, headers, "POST", "/api/v1/orders", json={"amount": 1000, "notes": notes})
        )
        body = {"order_id": order["id"], "method": "upi", "vpa": "success@okbank"}
        payment = created(call(stack, headers, "POST", "/api/v1/payments", json=body))
        settled(stack, headers, payment["id"], timeout=60)
        return order["id"]

    with ThreadPoolExecutor(8) as pool:
        orders = set(pool.map(paid, range(30)))
    lambda_limit = 6 * 1024 * 1024
    seen, cursor, sizes = [], "", []
    for _ in range(100):
        response = call(stack, headers, "GET", f"/api/v1/events?type=order.paid&limit=100{cursor}")
        assert response.status_code == 200, response.text[:300]
        # As Lambda returns it: the body, JSON-escaped inside its response document.
        sizes.append(len(json.dumps(response.text)))
        assert sizes[-1] < lambda_limit - 64 * 1024, sizes
        page = response.json()
        seen += page["data"]
        if not page["has_more"]:
            break
        assert page["data"], "a page that has more must hold at least one event"
        cursor = f"&starting_after={page['data'][-1]['id']}"
    assert len(sizes) > 1, f"one page of {sizes} bytes: the events were not big enough"
    assert len(seen) == len({e["id"] for e in seen}) == 30
    assert {e["data"]["order"]["id"] for e in seen} == orders
