"""The webhooks page in headless Chromium against the local stack and a local receiver: the URL
form (saved, persisted, the API's validation errors), the signing secret, test deliveries that
reach `success` (signatures checked with the docs' own snippet), the log's detail view, and a
manual retry of a delivery that failed all its attempts.

Each test signs up a merchant of its own, so secrets and logs never leak into other tests."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import type_into
from tests.browser.dashboard_helpers import (
    dash_browser_fixture,  # noqa: F401 - registers the `dash_browser` fixture
    dash_page_fixture,  # noqa: F401 - registers the `dash_page` fixture
    open_from_sidebar,
    shot,
    sign_in,
    snippet,
    tid,
    wait_until,
    webhook_receiver_fixture,  # noqa: F401 - registers the `webhook_receiver` fixture
)

pytestmark = pytest.mark.browser

NEW_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")  # base64 of 32 bytes
PASSWORD = "correct-horse-battery-9"


class Merchant:
    def __init__(self, stack, signup: dict):
        self.stack = stack
        self.email = signup["merchant"]["email"]
        self.webhook_secret = signup["webhook_secret"]
        self.headers = {"X-Api-Key": signup["api_key"], "X-Api-Secret": signup["api_secret"]}

    def call(self, method: str, path: str, **kwargs):
        return self.stack.call(method, path, headers=self.headers, **kwargs)

    def config(self) -> dict:
        response = self.call("GET", "/api/v1/webhooks/config")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def merchant(stack):
    email = f"webhooks-{uuid.uuid4().hex[:12]}@example.com"
    response = stack.call(
        "POST",
        "/api/v1/auth/signup",
        headers={"X-Api-Key": "", "X-Api-Secret": ""},
        json={"name": "Chai Point Webhooks", "email": email, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return Merchant(stack, response.json())


@pytest.fixture
def webhooks_page(dash_page, stack, merchant):
    page = sign_in(dash_page(), stack, merchant.email, PASSWORD)
    open_from_sidebar(page, "webhooks")
    expect(page.locator(tid("webhook-secret"))).to_have_text(merchant.webhook_secret)
    return page


def save_url(page, url: str):
    type_into(page.locator(tid("webhook-url-input")), url)
    with page.expect_response("**/api/v1/webhooks/config") as response:
        page.locator(tid("save-webhook-button")).click()
    return response.value


def send_test(page) -> str:
    with page.expect_response("**/api/v1/webhooks/test") as response:
        page.locator(tid("test-webhook-button")).click()
    assert response.value.status == 202, response.value.text()
    body = response.value.json()
    assert body["status"] == "pending"
    return body["id"]


def load_verifiers() -> dict:
    namespace: dict = {}
    exec(compile(snippet("code-snippet-webhook-python"), "docs-python", "exec"), namespace)
    return namespace


def test_webhook_url_is_saved_and_persists(webhooks_page, stack, merchant, webhook_receiver):
    page = webhooks_page
    config = page.locator(tid("webhook-config"))
    form = config.locator(tid("webhook-config-form"))
    for name in (
        "webhook-url-input",
        "webhook-secret",
        "regenerate-secret-button",
        "save-webhook-button",
        "test-webhook-button",
    ):
        expect(form.locator(tid(name))).to_be_visible()
    expect(form.locator(tid("webhook-url-input"))).to_have_value("")

    response = save_url(page, webhook_receiver.url)
    assert response.status == 200, response.text()
    assert response.request.method == "PUT"
    assert json.loads(response.request.post_data) == {"webhook_url": webhook_receiver.url}
    expect(page.locator(tid("toast")).last).to_have_text("Webhook URL saved")
    assert merchant.config()["webhook_url"] == webhook_receiver.url

    page.reload()
    expect(page.locator(tid("webhook-url-input"))).to_have_value(webhook_receiver.url)
    shot(page, "dashboard-webhooks-config")

    # An empty URL clears it.
    assert save_url(page, "").status == 200
    expect(page.locator(tid("toast")).last).to_contain_text("Webhook URL removed")
    assert merchant.config()["webhook_url"] is None
    page.reload()
    expect(page.locator(tid("webhook-url-input"))).to_have_value("")


def test_invalid_url_shows_the_api_error(webhooks_page, stack, merchant):
    page = webhooks_page
    response = save_url(page, "ftp://files.example.com/hook")
    assert response.status == 400
    expected = response.json()["error"]["description"]
    assert expected
    error = page.locator(tid("webhook-config-error"))
    expect(error).to_have_text(expected)
    expect(page.locator(tid("webhook-url-input"))).to_have_attribute("aria-invalid", "true")
    assert merchant.config()["webhook_url"] is None
    shot(page, "dashboard-webhooks-invalid-url", full_page=False)
    # Fixing it clears the error.
    save_url(page, "https://shop.example.com/paygate")
    expect(error).to_be_hidden()


def test_regenerate_secret(webhooks_page, stack, merchant):
    page = webhooks_page
    secret = page.locator(tid("webhook-secret"))
    expiry = page.locator(tid("previous-secret-expiry"))
    expect(expiry).to_be_hidden()  # nothing rolled yet
    with page.expect_response("**/api/v1/webhooks/secret/regenerate") as response:
        page.locator(tid("regenerate-secret-button")).click()
    assert response.value.status == 200
    fresh = response.value.json()["webhook_secret"]
    assert NEW_SECRET.match(fresh) and fresh != merchant.webhook_secret
    expect(secret).to_have_text(fresh)
    # The old secret keeps signing for a day, and the page says until when.
    expect(expiry).to_be_visible()
    expect(expiry).to_contain_text("previous secret also signs deliveries until")
    expect(expiry).to_contain_text(re.compile(r"\((tomorrow|in 24 hours)\)"))
    expect(page.locator(tid("toast")).last).to_contain_text("previous one keeps working until")
    config = merchant.config()
    assert config["webhook_secret"] == fresh
    assert (
        config["previous_secret_expires_at"] == response.value.json()["previous_secret_expires_at"]
    )
    page.reload()
    expect(secret).to_have_text(fresh)
    expect(expiry).to_be_visible()
    expect(expiry).to_have_attribute("title", config["previous_secret_expires_at"])


def test_test_webhook_reaches_success_and_verifies(
    webhooks_page, stack, merchant, webhook_receiver
):
    page = webhooks_page
    assert save_url(page, webhook_receiver.url).status == 200
    with page.expect_response("**/api/v1/webhooks/secret/regenerate"):
        page.locator(tid("regenerate-secret-button")).click()
    expect(page.locator(tid("webhook-secret"))).not_to_have_text(merchant.webhook_secret)
    secret = page.locator(tid("webhook-secret")).inner_text()
    assert NEW_SECRET.match(secret)

    log_id = send_test(page)
    table = page.locator(tid("webhook-logs-table"))
    row = table.locator(tid("webhook-log-item", webhook_id=log_id))
    expect(row).to_be_visible()
    expect(row.locator(tid("webhook-event"))).to_have_text("webhook.test")
    # No reload: the log refreshes itself while a delivery is pending.
    expect(row.locator(tid("webhook-status"))).to_have_text("success", timeout=15_000)
    expect(row.locator(tid("webhook-attempts"))).to_have_text("1")
    expect(row.locator(tid("webhook-response-code"))).to_have_text("200")
    expect(row.locator(tid("webhook-last-attempt"))).to_have_text(
        re.compile(r"^\d{2} [A-Z][a-z]{2} \d{4}, \d{1,2}:\d{2} [ap]m$")
    )
    expect(row.locator(tid("retry-webhook-button", webhook_id=log_id))).to_be_visible()
    expect(page.locator(tid("webhook-logs-status"))).to_have_text("")

    # What the receiver got verifies, with the secret the page shows, by the docs' snippet.
    deliveries = webhook_receiver.for_event(name="webhook.test")
    assert len(deliveries) == 1, [d.body for d in webhook_receiver.deliveries]
    delivery = deliveries[0]
    verify = load_verifiers()
    assert verify["verify_legacy"](delivery.body, delivery.headers["x-webhook-signature"], secret)
    assert verify["verify_standard"](delivery.body, delivery.headers, secret)
    assert not verify["verify_legacy"](
        delivery.body, delivery.headers["x-webhook-signature"], merchant.webhook_secret
    )
    shot(page, "dashboard-webhooks")

    # The detail view: payload pretty-printed, attempts, response.
    row.locator(tid("view-webhook-button")).click()
    detail = page.locator(tid("webhook-detail"))
    expect(detail).to_be_visible()
    expect(detail.locator(tid("webhook-detail-event"))).to_have_text("webhook.test")
    expect(detail.locator(tid("webhook-detail-status"))).to_have_text("success")
    expect(detail.locator(tid("webhook-detail-attempts"))).to_have_text("1 of 5")
    expect(detail.locator(tid("webhook-detail-response-code"))).to_have_text("200")
    payload = detail.locator(tid("webhook-detail-payload")).inner_text()
    assert json.loads(payload)["event"] == "webhook.test"
    assert "\n  " in payload  # indented
    assert json.loads(payload) == delivery.event
    expect(detail.locator(tid("webhook-detail-response"))).to_contain_text('"received": true')
    shot(page, "dashboard-webhook-detail", full_page=False)
    detail.locator("[data-close]").last.click()
    expect(detail).to_be_hidden()


def test_retry_a_failed_delivery(webhooks_page, stack, merchant, webhook_receiver):
    """Five failed attempts (test schedule: 0, 5, 10, 15, 20 s) make the log `failed`; a
    manual retry delivers it again at once with the same event id."""
    page = webhooks_page
    webhook_receiver.status = 500
    assert save_url(page, webhook_receiver.url).status == 200
    log_id = send_test(page)
    row = page.locator(tid("webhook-log-item", webhook_id=log_id))
    expect(row.locator(tid("webhook-response-code"))).to_have_text("500", timeout=15_000)
    expect(row.locator(tid("webhook-status"))).to_have_text("pending")
    expect(page.locator(tid("webhook-logs-status"))).to_contain_text("Auto-refreshing")
    shot(page, "dashboard-webhooks-retrying")

    expect(row.locator(tid("webhook-status"))).to_have_text("failed", timeout=90_000)
    expect(row.locator(tid("webhook-attempts"))).to_have_text("5")
    assert len(webhook_receiver.for_event(name="webhook.test")) == 5
    shot(page, "dashboard-webhooks-failed")

    webhook_receiver.status = 200
    with page.expect_response(f"**/api/v1/webhooks/{log_id}/retry") as response:
        row.locator(tid("retry-webhook-button", webhook_id=log_id)).click()
    assert response.value.status == 200
    assert response.value.json() == {
        "id": log_id,
        "status": "pending",
        "message": "Webhook retry scheduled",
    }
    expect(row.locator(tid("webhook-status"))).to_have_text("success", timeout=15_000)
    expect(row.locator(tid("webhook-attempts"))).to_have_text("1")
    expect(row.locator(tid("webhook-response-code"))).to_have_text("200")
    deliveries = webhook_receiver.for_event(name="webhook.test")
    assert len(deliveries) == 6
    assert len({d.event["id"] for d in deliveries}) == 1
    assert len({d.headers.get("webhook-id") for d in deliveries}) == 1
    wait_until(
        lambda: merchant.call("GET", "/api/v1/webhooks").json()["data"][0]["status"] == "success",
        5,
        message="API does not report the retried log as success",
    )
