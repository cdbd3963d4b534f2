"""Webhook endpoints end to end over HTTP (CONTRACT §13): CRUD and its answers, isolation between
merchants on every id, the limit of 16 under concurrent creates, events going to every endpoint
that takes them (next to the events API), a delete while deliveries are queued, and re-enabling
with a bulk replay of what was missed."""

from __future__ import annotations

import threading
import time

import pytest
from standardwebhooks.webhooks import Webhook

from infra.local.webhook_receiver import Receiver
from tests.security.helpers import bearer, call, created, paid_order, signup, wait_for

ENDPOINTS = "/api/v1/webhook_endpoints"


@pytest.fixture
def receivers():
    running = [Receiver("unused").start(), Receiver("unused").start()]
    yield running
    for receiver in running:
        receiver.stop()


@pytest.fixture
def shop(stack):
    return signup(stack, "Endpoints Shop")["headers"]


def add(stack, headers, url, events=("*",), **extra) -> dict:
    body = {"url": url, "enabled_events": list(events), **extra}
    return created(call(stack, headers, "POST", ENDPOINTS, json=body))


def error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()["error"]
    assert body["code"] == code
    return body["description"]


def logs(stack, headers, query: str = "") -> dict:
    response = call(stack, headers, "GET", "/api/v1/webhooks" + query)
    assert response.status_code == 200, response.text
    return response.json()


def test_crud_answers_in_the_contract_shape(stack, shop, receivers):
    made = add(stack, shop, receivers[0].url, ["payment.success"], description="Orders service")
    assert made["id"].startswith("we_") and len(made["id"]) == 19
    assert made["secret"].startswith("whsec_") and len(made["secret"]) == 50
    assert (made["url"], made["enabled_events"], made["status"]) == (
        receivers[0].url,
        ["payment.success"],
        "enabled",
    )
    assert made["description"] == "Orders service" and made["is_default"] is False
    assert made["created_at"].endswith("Z")
    path = f"{ENDPOINTS}/{made['id']}"
    got = call(stack, shop, "GET", path).json()
    assert "secret" not in got and got["id"] == made["id"]
    listed = call(stack, shop, "GET", ENDPOINTS).json()
    assert listed == {"data": [got], "total": 1}

    patched = call(stack, shop, "PATCH", path, json={"enabled_events": ["*"], "status": "disabled"})
    assert patched.status_code == 200, patched.text
    patched = patched.json()
    assert patched["enabled_events"] == ["*"] and patched["status"] == "disabled"
    assert patched["disabled_reason"] == "manual" and patched["disabled_at"]
    assert patched["description"] == "Orders service"  # untouched
    error(call(stack, shop, "PATCH", path, json={}), 400, "BAD_REQUEST_ERROR")
    error(call(stack, shop, "PATCH", path, data="{oops"), 400, "BAD_REQUEST_ERROR")

    rolled = call(stack, shop, "POST", f"{path}/secret/roll", json={"expire_previous_in": 60})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["secret"] not in (made["secret"], None)
    assert rolled.json()["previous_secret_expires_at"]
    # The body is optional, as for the legacy regenerate.
    assert call(stack, shop, "POST", f"{path}/secret/roll").status_code == 200

    deleted = call(stack, shop, "DELETE", path)
    assert deleted.status_code == 200 and deleted.json() == {"id": made["id"], "deleted": True}
    error(call(stack, shop, "GET", path), 404, "NOT_FOUND_ERROR")
    error(call(stack, shop, "DELETE", path), 404, "NOT_FOUND_ERROR")
    assert call(stack, shop, "GET", ENDPOINTS).json() == {"data": [], "total": 0}


def test_the_dashboard_token_manages_endpoints_too(stack, receivers):
    account = signup(stack, "Token Shop")
    token = bearer(stack, account)
    made = add(stack, token, receivers[0].url)
    assert call(stack, account["headers"], "GET", f"{ENDPOINTS}/{made['id']}").status_code == 200
    error(call(stack, {}, "GET", ENDPOINTS), 401, "AUTHENTICATION_ERROR")


def test_the_legacy_url_is_listed_as_the_default_endpoint(stack, shop, receivers):
    saved = call(
        stack, shop, "PUT", "/api/v1/webhooks/config", json={"webhook_url": receivers[0].url}
    )
    assert saved.status_code == 200
    (default,) = call(stack, shop, "GET", ENDPOINTS).json()["data"]
    assert default["is_default"] and default["id"].startswith("we_default")
    assert (default["url"], default["enabled_events"]) == (receivers[0].url, ["*"])
    cleared = call(stack, shop, "DELETE", f"{ENDPOINTS}/{default['id']}")
    assert cleared.status_code == 200
    assert call(stack, shop, "GET", "/api/v1/webhooks/config").json()["webhook_url"] is None


def test_every_id_of_another_merchant_is_not_found(stack, shop, receivers):
    owner = signup(stack, "Owner Shop")["headers"]
    call(stack, owner, "PUT", "/api/v1/webhooks/config", json={"webhook_url": receivers[0].url})
    mine = add(stack, owner, receivers[0].url)
    default_id = call(stack, owner, "GET", ENDPOINTS).json()["data"][0]["id"]
    log = call(stack, owner, "POST", "/api/v1/webhooks/test").json()["id"]
    for endpoint_id in (mine["id"], default_id, "we_0000000000000000", "nope"):
        path = f"{ENDPOINTS}/{endpoint_id}"
        for method, sub, body in (
            ("GET", "", None),
            ("PATCH", "", {"description": "mine now"}),
            ("DELETE", "", None),
            ("POST", "/secret/roll", {}),
        ):
            response = call(stack, shop, method, path + sub, json=body)
            assert error(response, 404, "NOT_FOUND_ERROR") == "Webhook endpoint not found"
        replay = {
            "status": "failed",
            "created_gte": "2026-01-01T00:00:00Z",
            "created_lt": "2026-01-02T00:00:00Z",
            "endpoint_id": endpoint_id,
        }
        error(
            call(stack, shop, "POST", "/api/v1/webhooks/replay", json=replay),
            404,
            "NOT_FOUND_ERROR",
        )
        test = call(stack, shop, "POST", "/api/v1/webhooks/test", json={"endpoint_id": endpoint_id})
        error(test, 404, "NOT_FOUND_ERROR")
    error(call(stack, shop, "POST", f"/api/v1/webhooks/{log}/retry"), 404, "NOT_FOUND_ERROR")
    owners = wait_for(lambda: logs(stack, owner)["data"], 10)
    assert logs(stack, shop, f"?event_id={owners[0]['event_id']}")["total"] == 0
    assert logs(stack, owner, f"?event_id={owners[0]['event_id']}")["total"] == 1
    # The owner's endpoints are exactly as they were.
    listed = call(stack, owner, "GET", ENDPOINTS).json()["data"]
    assert [e["id"] for e in listed] == [default_id, mine["id"]]
    assert all(e["description"] is None for e in listed)


def test_the_seventeenth_endpoint_is_refused_even_when_created_at_once(stack, shop, receivers):
    answers = []

    def create():
        body = {"url": receivers[0].url, "enabled_events": ["payment.success"]}
        answers.append(call(stack, shop, "POST", ENDPOINTS, json=body))

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 16 + [400] * 4, [a.text for a in answers if a.status_code != 201]
    refused = [a for a in answers if a.status_code == 400]
    assert all("at most 16" in error(a, 400, "BAD_REQUEST_ERROR") for a in refused)
    assert call(stack, shop, "GET", ENDPOINTS).json()["total"] == 16
    one_more = call(
        stack, shop, "POST", ENDPOINTS, json={"url": receivers[0].url, "enabled_events": ["*"]}
    )
    assert "at most 16" in error(one_more, 400, "BAD_REQUEST_ERROR")
    legacy = call(
        stack, shop, "PUT", "/api/v1/webhooks/config", json={"webhook_url": receivers[0].url}
    )
    assert "at most 16" in error(legacy, 400, "BAD_REQUEST_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:1/x\\@example.com", "enabled_events": ["*"]},
        {"url": "javascript:alert(1)", "enabled_events": ["*"]},
        {"url": "https://example.com/x", "enabled_events": ["payment.refunded"]},
        {"url": "https://example.com/x", "enabled_events": ["payment.created"] * 5000},
        {"url": "https://example.com/x", "enabled_events": ["*"], "description": "x" * 60000},
        {"url": "https://example.com/x", "enabled_events": ["*"], "description": "é" * 501},
    ],
)
def test_hostile_bodies_are_refused_and_store_nothing(stack, shop, body):
    error(call(stack, shop, "POST", ENDPOINTS, json=body), 400, "BAD_REQUEST_ERROR")
    assert call(stack, shop, "GET", ENDPOINTS).json()["total"] == 0


def test_a_refused_url_names_the_field_the_request_sent(stack, shop):
    """An endpoint's URL is `url`; the merchant's default is `webhook_url` (red-team rt3: the
    endpoint dialog said "webhook_url must ...")."""
    made = call(
        stack, shop, "POST", ENDPOINTS, json={"url": "javascript:alert(1)", "enabled_events": ["*"]}
    )
    assert error(made, 400, "BAD_REQUEST_ERROR").startswith("url must ")
    config = call(stack, shop, "PUT", "/api/v1/webhooks/config", json={"webhook_url": "ftp://x"})
    assert error(config, 400, "BAD_REQUEST_ERROR").startswith("webhook_url must ")


def test_events_reach_every_endpoint_that_takes_them_next_to_the_events_api(stack, shop, receivers):
    everything, successes = receivers
    a = add(stack, shop, everything.url)
    b = add(stack, shop, successes.url, ["payment.success", "refund.processed"])
    everything.secret, successes.secret = a["secret"], b["secret"]
    _, payment = paid_order(stack, shop)
    wait_for(lambda: len(everything.deliveries) >= 4 and len(successes.deliveries) >= 1, 10)
    time.sleep(0.5)  # nothing else is on its way
    assert sorted(d.event["event"] for d in everything.deliveries) == [
        "order.paid",
        "payment.created",
        "payment.pending",
        "payment.success",
    ]
    assert [d.event["event"] for d in successes.deliveries] == ["payment.success"]
    for receiver in receivers:
        for delivery in receiver.deliveries:
            assert delivery.legacy_ok and delivery.standard_ok
            assert Webhook(receiver.secret).verify(delivery.body, delivery.headers)
    # The events API lists the event; its deliveries are one log per endpoint.
    (event,) = call(stack, shop, "GET", "/api/v1/events?type=payment.success").json()["data"]
    assert event["data"]["payment"]["id"] == payment["id"]
    assert event["payload"].encode() == successes.deliveries[0].body
    page = wait_for(lambda: logs(stack, shop, f"?event_id={event['id']}"), 5)
    assert page["total"] == 2
    assert {(log["endpoint_id"], log["status"]) for log in page["data"]} == {
        (a["id"], "success"),
        (b["id"], "success"),
    }
    assert logs(stack, shop)["total"] == 5
    bad = call(stack, shop, "GET", "/api/v1/webhooks?event_id=pay_123")
    error(bad, 400, "BAD_REQUEST_ERROR")


def test_a_deleted_endpoint_is_sent_nothing_more_and_its_queued_retry_ends(stack, shop, receivers):
    failing = receivers[0]
    failing.status = 500
    made = add(stack, shop, failing.url)
    sent = call(stack, shop, "POST", "/api/v1/webhooks/test", json={"endpoint_id": made["id"]})
    assert sent.status_code == 202, sent.text
    log_id = sent.json()["id"]

    def log():
        found = [item for item in logs(stack, shop)["data"] if item["id"] == log_id]
        return found[0] if found else {"attempts": 0, "status": None}

    first = wait_for(lambda: log()["attempts"] == 1 and log(), 10)
    assert first["status"] == "pending" and first["next_retry_at"]  # retried in 5 s
    assert call(stack, shop, "DELETE", f"{ENDPOINTS}/{made['id']}").status_code == 200
    ended = wait_for(lambda: log()["status"] == "failed" and log(), 15)
    assert ended["attempts"] == 1 and ended["response_body"] == "Webhook endpoint deleted: not sent"
    assert ended["next_retry_at"] is None
    assert len(failing.deliveries) == 1
    retry = call(stack, shop, "POST", f"/api/v1/webhooks/{log_id}/retry")
    assert "deleted" in error(retry, 400, "BAD_REQUEST_ERROR")


def test_re_enabling_replays_what_the_endpoint_missed(stack, shop, receivers):
    paused = receivers[0]
    made = add(stack, shop, paused.url, ["payment.created", "payment.success"])
    path = f"{ENDPOINTS}/{made['id']}"
    assert call(stack, shop, "PATCH", path, json={"status": "disabled"}).status_code == 200
    for _ in range(2):
        paid_order(stack, shop)
    missed = wait_for(
        lambda: [x for x in logs(stack, shop)["data"] if x["endpoint_id"] == made["id"]], 10
    )
    wait_for(lambda: len(logs(stack, shop)["data"]) == 4, 10)
    missed = logs(stack, shop)["data"]
    assert len(missed) == 4 and {(x["status"], x["attempts"]) for x in missed} == {("failed", 0)}
    assert paused.deliveries == []
    test = call(stack, shop, "POST", "/api/v1/webhooks/test", json={"endpoint_id": made["id"]})
    assert "disabled" in error(test, 400, "BAD_REQUEST_ERROR")

    enabled = call(stack, shop, "PATCH", path, json={"status": "enabled"})
    assert enabled.status_code == 200, enabled.text
    replay = enabled.json()["replay"]
    assert (replay["method"], replay["path"]) == ("POST", "/api/v1/webhooks/replay")
    answer = call(stack, shop, "POST", replay["path"], json=replay["body"])
    assert answer.status_code == 202 and answer.json() == {"replayed": 4}, answer.text
    wait_for(lambda: len(paused.deliveries) == 4, 10)
    assert sorted(d.event["event"] for d in paused.deliveries) == [
        "payment.created",
        "payment.created",
        "payment.success",
        "payment.success",
    ]
    done = wait_for(lambda: {x["status"] for x in logs(stack, shop)["data"]} == {"success"}, 10)
    assert done
    again = call(stack, shop, "POST", replay["path"], json=replay["body"])
    assert again.json() == {"replayed": 0}
    for body in (
        {**replay["body"], "status": "pending"},
        {**replay["body"], "created_gte": "2020-01-01T00:00:00Z"},
        {"status": "failed"},
    ):
        error(call(stack, shop, "POST", replay["path"], json=body), 400, "BAD_REQUEST_ERROR")


def test_browsers_may_patch_and_delete_from_the_dashboard(stack):
    origin = stack.dashboard
    answer = call(
        stack,
        {
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        "OPTIONS",
        f"{ENDPOINTS}/we_0000000000000000",
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    methods = answer.headers["Access-Control-Allow-Methods"].split(",")
    assert {"PATCH", "DELETE"} <= set(methods)


# ------------------------------------------------------------------ strict bodies (b02, b15)
@pytest.mark.parametrize(
    "extra", [{"status": "disabled"}, {"is_default": True}, {"id": "we_x"}, {"secret": "whsec_A"}]
)
def test_unknown_fields_on_create_are_refused_by_name(stack, shop, receivers, extra):
    body = {"url": receivers[0].url, "enabled_events": ["*"], **extra}
    text = error(call(stack, shop, "POST", ENDPOINTS, json=body), 400, "BAD_REQUEST_ERROR")
    (name,) = extra
    assert repr(name) in text and "url, enabled_events, description" in text
    assert call(stack, shop, "GET", ENDPOINTS).json()["total"] == 0


def test_unknown_fields_on_change_roll_and_replay_are_refused_changing_nothing(
    stack, shop, receivers
):
    made = add(stack, shop, receivers[0].url, ["payment.success"], description="before")
    path = f"{ENDPOINTS}/{made['id']}"
    typo = {"description": "x", "enabled_event": ["payment.failed"]}
    text = error(call(stack, shop, "PATCH", path, json=typo), 400, "BAD_REQUEST_ERROR")
    assert "'enabled_event'" in text
    roll = call(stack, shop, "POST", path + "/secret/roll", json={"expire_previous_in": 60, "x": 1})
    assert "'x'" in error(roll, 400, "BAD_REQUEST_ERROR")
    now = call(stack, shop, "GET", path).json()
    assert (now["description"], now["enabled_events"]) == ("before", ["payment.success"])
    assert now["previous_secret_expires_at"] is None  # not rolled
    replay = {
        "status": "failed",
        "created_gte": "2026-01-01T00:00:00Z",
        "created_lt": "2026-01-02T00:00:00Z",
        "endpoint": made["id"],
    }
    answer = call(stack, shop, "POST", "/api/v1/webhooks/replay", json=replay)
    assert "'endpoint'" in error(answer, 400, "BAD_REQUEST_ERROR")


@pytest.mark.parametrize(
    "description", ["a\x00b", "red \x1b[31mtext", "two\nlines", "\x7f", "\x85"]
)
def test_control_characters_in_a_description_are_refused(stack, shop, receivers, description):
    body = {"url": receivers[0].url, "enabled_events": ["*"], "description": description}
    text = error(call(stack, shop, "POST", ENDPOINTS, json=body), 400, "BAD_REQUEST_ERROR")
    assert "control characters" in text
    made = add(stack, shop, receivers[0].url)
    path = f"{ENDPOINTS}/{made['id']}"
    answer = call(stack, shop, "PATCH", path, json={"description": description})
    error(answer, 400, "BAD_REQUEST_ERROR")
    assert call(stack, shop, "GET", path).json()["description"] is None


@pytest.mark.parametrize(
    "events, shown",
    [
        ([None], "null"),
        ([1], "a number"),
        ([{}], "an object"),
        ([[]], "an array"),
        ([True], "true"),
    ],
)
def test_a_wrong_kind_of_event_name_says_what_was_expected(stack, shop, events, shown):
    body = {"url": "https://example.com/x", "enabled_events": events}
    text = error(call(stack, shop, "POST", ENDPOINTS, json=body), 400, "BAD_REQUEST_ERROR")
    assert "Type" not in text and "NoneType" not in text and "dict" not in text
    assert shown in text and "event name" in text
