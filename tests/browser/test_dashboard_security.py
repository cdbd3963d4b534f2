"""The dashboard's Security page in headless Chromium, used as a person would (typing key by
key, clicking, reading what the page says): roll the API secret, change the password, sign
out everywhere; and the security headers enforced by the browser on the sites.

Each test signs up a merchant of its own (the seeded one's credentials are fixed in demo mode).
"""

from __future__ import annotations

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
    tid,
)
from tests.support.stack import TEST_HEADERS, client_from

pytestmark = pytest.mark.browser

PASSWORD = "masala-chai-2024"
SECRET = re.compile(r"^secret_live_[0-9a-f]{48}$")


@pytest.fixture
def account(stack) -> dict:
    email = f"security-{uuid.uuid4().hex[:12]}@example.com"
    response = stack.call(
        "POST",
        "/api/v1/auth/signup",
        headers={"X-Api-Key": "", "X-Api-Secret": ""},
        json={"name": "Filter Coffee Co", "email": email, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return {"email": email, "api_key": body["api_key"], "api_secret": body["api_secret"]}


def open_security_page(page, stack) -> None:
    open_from_sidebar(page, "security")
    expect(page.locator(tid("security-settings"))).to_be_visible()


def end_of_other_session(other) -> None:
    """The other tab, left on the overview, ends up on /login?expired=1 at its next API call:
    the overview's own refresh, every 5 s, so the person only has to look at it. (Reloading it
    raced that refresh: a reload issued while the page was itself going to the sign-in page
    failed with "Not attached to an active page", once in seven tier runs.)"""
    expect(other).to_have_url(re.compile(r"/login\?expired=1$"))


def api_status(stack, api_key: str, secret: str) -> int:
    headers = {"X-Api-Key": api_key, "X-Api-Secret": secret}
    return stack.call("POST", "/api/v1/orders", headers=headers, json={"amount": 100}).status_code


def test_roll_the_api_secret_with_an_hour_of_overlap(dash_page, stack, account):
    page = dash_page()
    other = dash_page()
    sign_in(page, stack, account["email"], PASSWORD)
    sign_in(other, stack, account["email"], PASSWORD)
    open_security_page(page, stack)

    page.locator(tid("overlap-select")).select_option(label="1 hour")
    page.locator(tid("roll-secret-button")).click()
    dialog = page.locator(tid("confirm-dialog"))
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("keeps working for API calls for 1 hour")
    dialog.locator(tid("confirm-button")).click()

    expect(page.locator(tid("new-secret-panel"))).to_be_visible()
    secret = page.locator(tid("new-api-secret")).inner_text()
    assert SECRET.match(secret) and secret != account["api_secret"]
    expect(page.locator(tid("previous-secret-expiry"))).to_contain_text("works for API calls until")
    shot(page, "dashboard-security-rolled")

    assert api_status(stack, account["api_key"], secret) == 201
    assert api_status(stack, account["api_key"], account["api_secret"]) == 201  # overlap

    # This tab got the next token and stays signed in; the overview shows the new secret.
    open_from_sidebar(page, "home")
    page.locator(tid("reveal-secret-button")).click()
    expect(page.locator(tid("api-secret"))).to_have_text(secret)
    # The other tab's token was revoked: its next call ends that session.
    end_of_other_session(other)
    expect(other.locator(tid("login-error"))).to_contain_text("session has ended")


def test_roll_at_once_can_be_cancelled_first(dash_page, stack, account):
    page = dash_page()
    sign_in(page, stack, account["email"], PASSWORD)
    open_security_page(page, stack)
    page.locator(tid("roll-secret-button")).click()
    page.locator(tid("confirm-cancel-button")).click()
    expect(page.locator(tid("confirm-dialog"))).to_be_hidden()
    expect(page.locator(tid("new-secret-panel"))).to_be_hidden()
    assert api_status(stack, account["api_key"], account["api_secret"]) == 201

    page.locator(tid("roll-secret-button")).click()
    expect(page.locator(tid("confirm-dialog"))).to_contain_text("stops working at once")
    page.locator(tid("confirm-button")).click()
    expect(page.locator(tid("previous-secret-expiry"))).to_have_text(
        "The old secret no longer works."
    )
    assert api_status(stack, account["api_key"], account["api_secret"]) == 401


def test_change_the_password(dash_page, stack, account):
    page = dash_page()
    other = dash_page()
    sign_in(page, stack, account["email"], PASSWORD)
    sign_in(other, stack, account["email"], PASSWORD)
    open_security_page(page, stack)

    # Typos a person makes first: a mismatch is caught on the page, a wrong current password
    # by the API; neither changes anything.
    type_into(page.locator(tid("current-password-input")), PASSWORD)
    type_into(page.locator(tid("new-password-input")), "filter-kaapi-99")
    type_into(page.locator(tid("confirm-password-input")), "filter-kaapi-98")
    page.locator(tid("change-password-button")).click()
    expect(page.locator(tid("password-error"))).to_have_text("The new passwords do not match.")

    page.locator(tid("current-password-input")).clear()
    type_into(page.locator(tid("current-password-input")), "masala-chai-2023")
    page.locator(tid("confirm-password-input")).clear()
    type_into(page.locator(tid("confirm-password-input")), "filter-kaapi-99")
    page.locator(tid("change-password-button")).click()
    expect(page.locator(tid("password-error"))).to_have_text("current_password is incorrect")

    page.locator(tid("current-password-input")).clear()
    type_into(page.locator(tid("current-password-input")), PASSWORD)
    page.locator(tid("change-password-button")).click()
    expect(page.locator(tid("toast"))).to_contain_text("Password changed")
    expect(page.locator(tid("password-error"))).to_be_hidden()
    expect(page.locator(tid("current-password-input"))).to_have_value("")

    # Still signed in here; the other session is over; only the new password signs in.
    open_from_sidebar(page, "transactions")
    end_of_other_session(other)
    client = client_from()
    old = client.post(
        stack.api + "/api/v1/auth/login",
        json={"email": account["email"], "password": PASSWORD},
        timeout=10,
    )
    assert old.status_code == 401
    fresh = dash_page()
    sign_in(fresh, stack, account["email"], "filter-kaapi-99")


def test_sign_out_everywhere(dash_page, stack, account):
    page = dash_page()
    other = dash_page()
    sign_in(page, stack, account["email"], PASSWORD)
    sign_in(other, stack, account["email"], PASSWORD)
    open_security_page(page, stack)
    page.locator(tid("logout-all-button")).click()
    expect(page.locator(tid("confirm-dialog"))).to_contain_text("Every dashboard session ends")
    page.locator(tid("confirm-button")).click()
    page.wait_for_url(re.compile(r"/login\?signed_out=1$"))
    expect(page.locator(tid("login-error"))).to_have_text("You signed out of every session.")

    end_of_other_session(other)
    # API keys are not sessions.
    assert api_status(stack, account["api_key"], account["api_secret"]) == 201
    sign_in(page, stack, account["email"], PASSWORD)


def test_demo_merchant_sees_why_its_credentials_are_fixed(dash_page, stack):
    page = dash_page()
    sign_in(page, stack)
    open_security_page(page, stack)
    page.locator(tid("roll-secret-button")).click()
    page.locator(tid("confirm-button")).click()
    expect(page.locator(tid("roll-secret-error"))).to_contain_text("DEMO_LOGIN")
    expect(page.locator(tid("new-secret-panel"))).to_be_hidden()
    assert stack.call("GET", "/api/v1/merchant", headers=TEST_HEADERS).status_code == 200


# ---------------------------------------------------------------------------- headers
INLINE_SCRIPT = """() => new Promise((resolve) => {
  document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective));
  const script = document.createElement('script');
  script.textContent = 'window.injected = true';
  document.head.appendChild(script);
  setTimeout(() => resolve(window.injected ? 'ran' : 'nothing'), 3000);
})"""
FOREIGN_FETCH = """(url) => new Promise((resolve) => {
  document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective));
  fetch(url, {mode: 'no-cors'}).then(() => resolve('fetched'), () => {});
  setTimeout(() => resolve('nothing'), 3000);
})"""


def violation(browser, url: str, script: str, arg=None) -> str:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        return page.evaluate(script, arg)
    finally:
        context.close()


def test_the_checkout_refuses_inline_scripts(browser, stack):
    url = stack.checkout + "/checkout?order_id=order_0000000000000000"
    assert violation(browser, url, INLINE_SCRIPT) == "script-src-elem"


@pytest.mark.parametrize("site,path", [("dashboard", "/login"), ("checkout", "/checkout")])
def test_the_sites_connect_only_to_the_api(browser, stack, site, path):
    """The pages' own <meta> CSP allows any http(s) connection; the header (as CloudFront
    sends it) narrows it to the API."""
    other = stack.checkout if site == "dashboard" else stack.dashboard
    url = getattr(stack, site) + path
    assert violation(browser, url, FOREIGN_FETCH, other + "/config.js") == "connect-src"
    assert violation(browser, url, FOREIGN_FETCH, stack.api + "/health") == "fetched"


def test_merchants_may_frame_the_checkout_but_nobody_the_dashboard(browser, stack, merchant_site):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(merchant_site + "/shop.html")
        order = stack.create_order(12300)
        page.set_content(
            f'<iframe id="checkout" src="{stack.checkout}/checkout?order_id={order["id"]}'
            f'&embedded=true"></iframe>'
            f'<iframe id="dashboard" src="{stack.dashboard}/login"></iframe>'
        )
        checkout = page.frame_locator("#checkout")
        expect(checkout.locator(tid("order-amount"))).to_have_text("₹123.00")
        dashboard = page.frame_locator("#dashboard")
        expect(dashboard.locator(tid("login-form"))).to_have_count(0)
        assert page.frame(url=f"{stack.dashboard}/login") is None or not (
            page.frame(url=f"{stack.dashboard}/login").query_selector(tid("login-form"))
        )
    finally:
        context.close()
