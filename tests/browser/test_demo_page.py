"""The demo merchant page at /demo: what a merchant copies, working end to end."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import SETTLE_TIMEOUT, SUCCESS_VPA, pay_upi, tid, type_into
from tests.browser.conftest import MOBILE

pytestmark = pytest.mark.browser


def test_demo_creates_an_order_and_pays_it_in_the_modal(page, stack, screenshot):
    page.goto(stack.checkout + "/demo")
    expect(page.get_by_text("Local demo only.")).to_be_visible()
    screenshot(page, "demo-page-1280x800")

    type_into(page.locator(tid("demo-amount-input")), "250")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/orders")) as created:
        page.locator(tid("demo-pay-button")).click()
    assert created.value.status == 201
    order = created.value.json()
    assert order["amount"] == 25000

    frame = page.frame_locator(tid("payment-iframe"))
    expect(frame.locator(tid("order-amount"))).to_have_text("₹250.00")
    pay_upi(frame, SUCCESS_VPA)
    expect(page.locator(tid("demo-result"))).to_contain_text(
        "Payment successful: pay_", timeout=SETTLE_TIMEOUT
    )
    expect(page.locator(tid("payment-modal"))).to_have_count(0)
    log = page.locator(tid("demo-log")).inner_text()
    assert "onSuccess" in log and "onClose" in log
    payment_id = page.locator(tid("demo-result")).inner_text().split(": ")[1]
    assert stack.call("GET", f"/api/v1/payments/{payment_id}").json()["order_id"] == order["id"]


def test_demo_opens_the_checkout_for_an_existing_order(page, stack):
    order = stack.create_order(9900)
    page.goto(stack.checkout + "/")
    type_into(page.locator(tid("demo-order-id-input")), order["id"])
    page.locator(tid("demo-open-button")).click()
    frame = page.frame_locator(tid("payment-iframe"))
    expect(frame.locator(tid("order-amount"))).to_have_text("₹99.00")
    page.locator(tid("close-modal-button")).click()
    expect(page.locator(tid("payment-modal"))).to_have_count(0)
    expect(page.locator(tid("demo-log"))).to_contain_text("onClose")


def test_demo_never_scrolls_sideways_on_a_360px_phone_after_a_payment(new_page, stack):
    """The event log's `onSuccess {"paymentId":...}` line is one long word: it used to stretch
    the page to 790 px, so the whole store scrolled sideways on a phone."""
    page = new_page(MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(stack.checkout + "/demo")
    page.locator(tid("demo-pay-button")).click()
    pay_upi(page.frame_locator(tid("payment-iframe")), SUCCESS_VPA)
    expect(page.locator(tid("demo-result"))).to_contain_text(
        "Payment successful: pay_", timeout=SETTLE_TIMEOUT
    )
    expect(page.locator(tid("payment-modal"))).to_have_count(0)
    log = page.locator(tid("demo-log"))
    expect(log).to_contain_text('onSuccess {"paymentId":"pay_')
    width = page.evaluate(
        """() => ({document: document.documentElement.scrollWidth,
                   body: document.body.scrollWidth,
                   viewport: document.documentElement.clientWidth})"""
    )
    assert width["viewport"] == MOBILE["width"], width
    assert max(width["document"], width["body"]) <= width["viewport"], width
    # Every log line is inside the log, wrapped, not cut off.
    lines = log.locator("li").evaluate_all(
        "items => items.map(li => [li.scrollWidth, li.clientWidth, li.textContent])"
    )
    assert lines and all(scroll <= client for scroll, client, _ in lines), lines
