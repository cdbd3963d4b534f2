"""The webhooks page's Endpoints card and Events browser in headless Chromium at desktop width,
used as a person would (typing key by key, ticking boxes, confirming dialogs), against the local
stack and local receivers: add, edit events, disable and enable with a replay, roll a secret
with an overlap, delete with a confirmation, the `webhook_endpoint.disabled` notice, and an
event's deliveries to each endpoint. The page runs under the dashboard's CSP: a violation fails
the test (see `dash_page`).

Each test signs up a merchant of its own."""

from __future__ import annotations

import re
import time
import uuid

import boto3
import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from infra.local.webhook_receiver import Receiver
from tests.browser.checkout_flows import type_into
from tests.browser.dashboard_helpers import (
    DESKTOP,
    answer_late,
    dash_browser_fixture,  # noqa: F401 - registers the `dash_browser` fixture
    dash_page_fixture,  # noqa: F401 - registers the `dash_page` fixture
    open_from_sidebar,
    shot,
    sign_in,
    tid,
    wait_until,
)

pytestmark = pytest.mark.browser

PASSWORD = "idli-dosa-2025"
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")


class Merchant:
    def __init__(self, stack, email: str, body: dict):
        self.stack = stack
        self.email = email
        self.headers = {"X-Api-Key": body["api_key"], "X-Api-Secret": body["api_secret"]}

    def call(self, method: str, path: str, **kwargs):
        return self.stack.call(method, path, headers=self.headers, **kwargs)

    def pay(self) -> dict:
        """An order of ₹42 paid by UPI (it succeeds; its payment and order events follow); the
        order."""
        order = self.call("POST", "/api/v1/orders", json={"amount": 4200}).json()
        self.call(
            "POST",
            "/api/v1/payments",
            json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
        )
        return order

    def endpoints(self) -> list[dict]:
        response = self.call("GET", "/api/v1/webhook_endpoints")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def logs(self, query: str = "") -> list[dict]:
        return self.call("GET", "/api/v1/webhooks" + query).json()["data"]


@pytest.fixture
def merchant(stack) -> Merchant:
    email = f"endpoints-{uuid.uuid4().hex[:12]}@example.com"
    response = stack.call(
        "POST",
        "/api/v1/auth/signup",
        headers={"X-Api-Key": "", "X-Api-Secret": ""},
        json={"name": "Masala Dosa Endpoints", "email": email, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return Merchant(stack, email, response.json())


@pytest.fixture
def receivers():
    running = [Receiver("unused").start(), Receiver("unused").start()]
    yield running
    for receiver in running:
        receiver.stop()


@pytest.fixture
def page(dash_page, stack, merchant):
    """Signed in as the merchant (typing), on the webhooks page, at desktop width."""
    page = sign_in(dash_page(DESKTOP), stack, merchant.email, PASSWORD)
    open_from_sidebar(page, "webhooks")
    expect(page.locator(tid("endpoints-body"))).to_contain_text("No endpoints yet")
    return page


def endpoint_row(page, endpoint_id: str):
    return page.locator(tid("endpoint-row", endpoint_id=endpoint_id))


def add_endpoint(page, url: str, description: str = "", events: tuple = ()) -> dict:
    """Fill the Add endpoint dialog as a person does; returns the API's answer."""
    page.locator(tid("add-endpoint-button")).click()
    dialog = page.locator(tid("endpoint-dialog"))
    expect(dialog).to_be_visible()
    type_into(page.locator(tid("endpoint-url-input")), url)
    if description:
        type_into(page.locator(tid("endpoint-description-input")), description)
    if events:
        page.locator(tid("endpoint-event-all")).uncheck()
        for name in events:
            dialog.locator(f'{tid("endpoint-event-option")}[value="{name}"]').check()
    with page.expect_response("**/api/v1/webhook_endpoints") as response:
        page.locator(tid("save-endpoint-button")).click()
    assert response.value.status == 201, response.value.text()
    expect(dialog).to_be_hidden()
    return response.value.json()


def test_add_edit_disable_enable_and_delete_an_endpoint(page, stack, merchant, receivers):
    made = add_endpoint(
        page,
        receivers[0].url,
        "Fulfilment service",
        ("payment.success", "refund.processed"),
    )
    assert made["enabled_events"] == ["payment.success", "refund.processed"]
    assert made["description"] == "Fulfilment service"
    # The secret is shown once, in the page, and it signs this endpoint's deliveries.
    secret = page.locator(tid("endpoint-new-secret"))
    expect(secret).to_have_text(made["secret"])
    assert SECRET.match(made["secret"])
    row = endpoint_row(page, made["id"])
    expect(row.locator(tid("endpoint-url"))).to_have_text(receivers[0].url)
    expect(row.locator(tid("endpoint-events"))).to_have_text("payment.successrefund.processed")
    expect(row.locator(tid("endpoint-status"))).to_have_text("enabled")
    expect(row.locator(tid("endpoint-description"))).to_have_text("Fulfilment service")
    sent = merchant.call("POST", "/api/v1/webhooks/test", json={"endpoint_id": made["id"]})
    assert sent.status_code == 202
    wait_until(lambda: receivers[0].deliveries, message="no test delivery")
    delivery = receivers[0].deliveries[0]
    assert Webhook(made["secret"]).verify(delivery.body, delivery.headers)
    page.locator(tid("dismiss-endpoint-secret-button")).click()
    expect(page.locator(tid("endpoint-secret-panel"))).to_be_hidden()

    # Edit: all events now, a new description; the dialog starts from what is stored.
    row.locator(tid("edit-endpoint-button")).click()
    expect(page.locator(tid("endpoint-url-input"))).to_have_value(receivers[0].url)
    expect(page.locator(tid("endpoint-description-input"))).to_have_value("Fulfilment service")
    expect(page.locator(f'{tid("endpoint-event-option")}[value="payment.success"]')).to_be_checked()
    page.locator(tid("endpoint-event-all")).check()
    type_into(page.locator(tid("endpoint-description-input")), "Orders and refunds")
    with page.expect_response(f"**/api/v1/webhook_endpoints/{made['id']}") as response:
        page.locator(tid("save-endpoint-button")).click()
    assert response.value.request.method == "PATCH" and response.value.status == 200
    expect(row.locator(tid("endpoint-events"))).to_have_text("All events")
    expect(row.locator(tid("endpoint-description"))).to_have_text("Orders and refunds")
    assert merchant.endpoints()[0]["enabled_events"] == ["*"]

    # Disable, then enable: the page offers the replay of what it missed.
    with page.expect_response(f"**/api/v1/webhook_endpoints/{made['id']}"):
        row.locator(tid("toggle-endpoint-button")).click()
    expect(row.locator(tid("endpoint-status"))).to_have_text("disabled")
    expect(row.locator(tid("endpoint-status-reason"))).to_contain_text("Disabled by you")
    expect(row.locator(tid("toggle-endpoint-button"))).to_have_text("Enable")
    order = merchant.call("POST", "/api/v1/orders", json={"amount": 1200}).json()
    merchant.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": order["id"], "method": "upi", "vpa": "success@okbank"},
    )
    wait_until(lambda: len(merchant.logs()) >= 4, message="missed deliveries not logged")
    row.locator(tid("toggle-endpoint-button")).click()
    confirm = page.locator(tid("confirm-dialog"))
    expect(confirm).to_be_visible()
    expect(page.locator(tid("confirm-title"))).to_have_text("Replay what it missed?")
    with page.expect_response("**/api/v1/webhooks/replay") as replay:
        page.locator(tid("confirm-button")).click()
    assert replay.value.status == 202
    replayed = replay.value.json()["replayed"]
    assert replayed >= 3
    expect(page.locator(tid("replay-result"))).to_contain_text(f"{replayed} deliveries replayed")
    expect(row.locator(tid("endpoint-status"))).to_have_text("enabled")
    wait_until(
        lambda: (
            {d.event["event"] for d in receivers[0].deliveries}
            >= {"payment.created", "payment.pending", "payment.success"}
        ),
        message="the replay did not deliver the missed events",
    )
    shot(page, "dashboard-endpoints-desktop")

    # Delete asks first; cancelling keeps the endpoint.
    row.locator(tid("delete-endpoint-button")).click()
    expect(page.locator(tid("confirm-title"))).to_have_text("Delete this endpoint?")
    page.locator(tid("confirm-cancel-button")).click()
    expect(confirm).to_be_hidden()
    expect(row).to_be_visible()
    row.locator(tid("delete-endpoint-button")).click()
    with page.expect_response(f"**/api/v1/webhook_endpoints/{made['id']}") as response:
        page.locator(tid("confirm-button")).click()
    assert response.value.request.method == "DELETE" and response.value.status == 200
    expect(row).to_have_count(0)
    expect(page.locator(tid("endpoints-body"))).to_contain_text("No endpoints yet")
    assert merchant.endpoints() == []


def test_roll_an_endpoint_secret_with_an_hour_of_overlap(page, merchant, receivers):
    made = add_endpoint(page, receivers[0].url)
    old = made["secret"]
    page.locator(tid("dismiss-endpoint-secret-button")).click()
    endpoint_row(page, made["id"]).locator(tid("roll-endpoint-secret-button")).click()
    dialog = page.locator(tid("roll-endpoint-dialog"))
    expect(dialog).to_be_visible()
    expect(page.locator(tid("roll-overlap-select"))).to_have_value("86400")
    page.locator(tid("roll-overlap-select")).select_option("3600")
    with page.expect_response("**/secret/roll") as response:
        page.locator(tid("confirm-roll-button")).click()
    assert response.value.request.post_data_json == {"expire_previous_in": 3600}
    new = response.value.json()["secret"]
    assert new != old and SECRET.match(new)
    expect(dialog).to_be_hidden()
    expect(page.locator(tid("endpoint-new-secret"))).to_have_text(new)
    expect(page.locator(tid("endpoint-secret-hint"))).to_contain_text("also signs deliveries until")
    with page.expect_response("**/api/v1/webhooks/test") as sent:
        endpoint_row(page, made["id"]).locator(tid("test-endpoint-button")).click()
    assert sent.value.status == 202
    assert sent.value.request.post_data_json == {"endpoint_id": made["id"]}
    expect(page.locator(tid("toast")).last).to_contain_text("Test webhook queued")
    wait_until(lambda: receivers[0].deliveries, message="no delivery after the roll")
    delivery = receivers[0].deliveries[0]
    for secret in (old, new):  # both sign during the hour
        assert Webhook(secret).verify(delivery.body, delivery.headers)


def test_a_refused_url_shows_the_api_error_and_adds_nothing(page, merchant):
    page.locator(tid("add-endpoint-button")).click()
    type_into(page.locator(tid("endpoint-url-input")), "ftp://files.example/hook")
    with page.expect_response("**/api/v1/webhook_endpoints") as response:
        page.locator(tid("save-endpoint-button")).click()
    assert response.value.status == 400
    error = page.locator(tid("endpoint-form-error"))
    expect(error).to_be_visible()
    expect(error).to_contain_text(response.value.json()["error"]["description"])
    # No event chosen: the page says so before asking the API.
    page.locator(tid("endpoint-url-input")).clear()
    type_into(page.locator(tid("endpoint-url-input")), "https://shop.example/hooks")
    page.locator(tid("endpoint-event-all")).uncheck()
    page.locator(tid("save-endpoint-button")).click()
    expect(error).to_have_text("Choose at least one event, or all events.")
    assert merchant.endpoints() == []


def _disable_for_failing(stack, merchant, endpoint_id: str, receiver) -> None:
    """Make the stack disable the endpoint for real: its failing streak is pushed three days
    back in the table, then one more delivery fails and the worker disables it."""
    table = stack.runtime.deployment["outputs"]["WebhookEndpointsTableName"]
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    merchant_id = merchant.call("GET", "/api/v1/merchant").json()["id"]
    dynamodb.update_item(
        TableName=table,
        Key={"merchant_id": {"S": merchant_id}, "id": {"S": endpoint_id}},
        UpdateExpression="SET failing_since = :t",
        ExpressionAttributeValues={":t": {"N": str(time.time() - 3 * 86400 - 60)}},
    )
    receiver.status = 500
    merchant.call("POST", "/api/v1/webhooks/test", json={"endpoint_id": endpoint_id})
    wait_until(
        lambda: (
            merchant.call("GET", f"/api/v1/webhook_endpoints/{endpoint_id}").json()["status"]
            == "disabled"
        ),
        message="the worker did not disable the failing endpoint",
    )


def test_an_endpoint_disabled_for_failing_shows_the_notice_and_comes_back(
    page, stack, merchant, receivers
):
    made = add_endpoint(page, receivers[0].url)
    _disable_for_failing(stack, merchant, made["id"], receivers[0])
    page.reload()
    notice = page.locator(tid("endpoint-disabled-notice"))
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("webhook_endpoint.disabled")
    expect(notice).to_contain_text(receivers[0].url)
    row = endpoint_row(page, made["id"])
    expect(row.locator(tid("endpoint-status-reason"))).to_contain_text(
        "Every delivery failed since"
    )
    # The notice is an event too.
    page.locator(tid("event-type-filter")).select_option("webhook_endpoint.disabled")
    expect(page.locator(tid("event-row"))).to_have_count(1)
    expect(page.locator(tid("event-type"))).to_have_text(["webhook_endpoint.disabled"])
    receivers[0].status = 200
    page.locator(tid("enable-failing-endpoint-button")).click()
    expect(page.locator(tid("confirm-title"))).to_have_text("Replay what it missed?")
    with page.expect_response("**/api/v1/webhooks/replay") as replay:
        page.locator(tid("confirm-button")).click()
    assert replay.value.status == 202
    expect(notice).to_be_hidden()
    expect(row.locator(tid("endpoint-status"))).to_have_text("enabled")


def test_the_event_browser_shows_each_events_delivery_to_each_endpoint(page, merchant, receivers):
    everything = add_endpoint(page, receivers[0].url, "Everything")
    page.locator(tid("dismiss-endpoint-secret-button")).click()
    successes = add_endpoint(page, receivers[1].url, "Successes", ("payment.success",))
    order = merchant.pay()
    wait_until(lambda: receivers[1].deliveries, message="payment.success not delivered")
    page.locator(tid("event-type-filter")).select_option("payment.success")
    rows = page.locator(tid("event-row"))
    expect(rows).to_have_count(1)
    expect(rows.first.locator(tid("event-type"))).to_have_text("payment.success")
    rows.first.click()
    detail = page.locator(tid("event-detail"))
    expect(detail).to_be_visible()
    deliveries = detail.locator(tid("event-delivery-row"))
    expect(deliveries).to_have_count(2)
    for made, name in ((everything, "Everything"), (successes, "Successes")):
        delivery = detail.locator(tid("event-delivery-row", endpoint_id=made["id"]))
        expect(delivery.locator(tid("event-delivery-endpoint"))).to_contain_text(name)
        expect(delivery.locator(tid("event-delivery-status"))).to_have_text("success")
    expect(detail.locator(tid("event-detail-payload"))).to_contain_text(order["id"])
    # Retry one delivery from here: it goes to that endpoint only.
    before = len(receivers[1].deliveries)
    with page.expect_response(re.compile(r".*/api/v1/webhooks/[0-9a-f-]+/retry$")):
        detail.locator(tid("event-delivery-row", endpoint_id=successes["id"])).locator(
            tid("retry-delivery-button")
        ).click()
    wait_until(lambda: len(receivers[1].deliveries) > before, message="retry not delivered")
    shot(page, "dashboard-event-browser-desktop")
    detail.locator("[data-close]").last.click()
    expect(detail).to_be_hidden()
    # The other events: the one that no endpoint but the first took.
    page.locator(tid("event-type-filter")).select_option("payment.created")
    # The list still shows the payment.success row until the new one arrives: read it first.
    expect(rows).to_have_count(1)
    expect(rows.first.locator(tid("event-type"))).to_have_text("payment.created")
    rows.first.click()
    expect(detail.locator(tid("event-delivery-row"))).to_have_count(1)
    # The delivery log names each delivery's endpoint.
    logs = page.locator(tid("webhook-log-item"))
    expect(logs.first).to_be_visible()
    assert page.locator(tid("webhook-endpoint")).count() == logs.count()


def test_nothing_of_another_type_shows_while_a_new_filter_is_on_its_way(page, merchant):
    """Choose a filter, and before its list arrives the old list's rows and its Load more are
    gone: clicked, Load more appended the chosen type's events, read after the old list's last
    event, to the old list (red-team rt3 F3), and the old rows stood under the new filter for as
    long as its answer took (rt4)."""
    for _ in range(3):  # a dozen events or so: more than a page of 10
        merchant.pay()
    wait_until(
        lambda: len(merchant.call("GET", "/api/v1/events?limit=100").json()["data"]) > 10,
        message="fewer than 11 events recorded",
    )
    page.locator(tid("refresh-events-button")).click()
    more = page.locator(tid("load-more-events-button"))
    expect(more).to_be_visible()
    held = []  # the filtered list, answered only when the test lets it
    filtered = re.compile(r".*/api/v1/events\?.*type=payment\.success.*")
    page.route(filtered, lambda route: held.append(route))
    with page.expect_request(filtered):
        page.locator(tid("event-type-filter")).select_option("payment.success")
    expect(more).to_be_hidden()
    expect(page.locator(tid("event-type"))).to_have_count(0)
    expect(page.locator(tid("events-loading"))).to_have_text("Loading…")
    answer_late(page, held, filtered)
    page.unroute(filtered)
    expect(page.locator(tid("event-type"))).to_have_text(["payment.success"] * 3)
    expect(more).to_be_hidden()


def test_a_late_answer_for_an_earlier_filter_does_not_replace_the_list(page, merchant):
    """Filter by one type, then at once by another: when the first answer comes back last, the
    list still shows the type the filter names."""
    merchant.pay()
    wait_until(
        lambda: merchant.call("GET", "/api/v1/events?type=payment.success").json()["data"],
        message="payment.success not recorded",
    )
    held = []  # the payment.success list request, answered only when the test lets it
    late = re.compile(r".*/api/v1/events\?.*type=payment\.success.*")
    page.route(late, lambda route: held.append(route))
    with page.expect_request(late):
        page.locator(tid("event-type-filter")).select_option("payment.success")
    page.locator(tid("event-type-filter")).select_option("payment.created")
    expect(page.locator(tid("event-type"))).to_have_text(["payment.created"])
    assert len(held) == 1

    answer_late(page, held, late)
    expect(page.locator(tid("event-type"))).to_have_text(["payment.created"])
    expect(page.locator(tid("event-type-filter"))).to_have_value("payment.created")
