"""The hosted checkout page on its own (a payment link): summary, forms, client-side validation
that mirrors the API, the API's own refusals, polling, success, failure and the retry path."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import (
    FAILURE_VPA,
    PAYMENT_ID,
    SETTLE_TIMEOUT,
    SUCCESS_CARD,
    SUCCESS_VPA,
    enter_card,
    pay_card,
    pay_upi,
    tid,
    type_into,
)

pytestmark = pytest.mark.browser


def open_page(page, stack, order_id: str):
    page.goto(f"{stack.checkout}/checkout?order_id={order_id}")
    expect(page.locator(tid("checkout-container"))).to_be_visible()
    return page


def record_api(page) -> list[dict]:
    """Every API request the page makes: method, path, body and the request itself (whose
    `timing["startTime"]` is when the browser sent it, by the browser's clock)."""
    calls: list[dict] = []

    def on_request(request):
        if "/api/v1/" in request.url:
            calls.append(
                {
                    "method": request.method,
                    "url": request.url,
                    "body": request.post_data,
                    "request": request,
                }
            )

    page.on("request", on_request)
    return calls


def payment_posts(calls: list[dict]) -> list[dict]:
    return [c for c in calls if c["method"] == "POST" and c["url"].endswith("/payments/public")]


def test_order_summary_and_payment_methods(page, stack, screenshot):
    order = stack.create_order(50000)
    open_page(page, stack, order["id"])
    expect(page.locator(tid("order-amount"))).to_have_text("₹500.00")
    expect(page.locator(tid("order-id"))).to_have_text(order["id"])
    summary = page.locator(tid("order-summary"))
    expect(summary.locator(tid("order-amount"))).to_have_count(1)
    expect(summary.locator(tid("order-id"))).to_have_count(1)
    methods = page.locator(tid("payment-methods"))
    expect(methods.locator(tid("method-upi"))).to_have_attribute("data-method", "upi")
    expect(methods.locator(tid("method-card"))).to_have_attribute("data-method", "card")
    expect(page.get_by_text("Test Merchant")).to_be_visible()

    expect(page.locator(tid("upi-form"))).to_be_visible()
    expect(page.locator(tid("card-form"))).to_be_hidden()
    expect(page.locator(tid("pay-button"))).to_have_count(1)
    expect(page.locator(tid("pay-button"))).to_have_text("Pay ₹500.00")
    for state in ("processing-state", "success-state", "error-state"):
        expect(page.locator(tid(state))).to_be_hidden()
    screenshot(page, "checkout-page-upi-1280x800")

    page.locator(tid("method-card")).click()
    expect(page.locator(tid("card-form"))).to_be_visible()
    expect(page.locator(tid("upi-form"))).to_be_hidden()
    expect(page.locator(tid("expiry-input"))).to_have_attribute("placeholder", "MM/YY")
    card_form = page.locator(tid("card-form"))
    for test_id in (
        "card-number-input",
        "expiry-input",
        "cvv-input",
        "cardholder-name-input",
        "pay-button",
    ):
        expect(card_form.locator(tid(test_id))).to_be_visible()
    screenshot(page, "checkout-page-card-1280x800")


def test_amounts_are_formatted_in_rupees(page, stack):
    order = stack.create_order(12345678)
    open_page(page, stack, order["id"])
    expect(page.locator(tid("order-amount"))).to_have_text("₹1,23,456.78")


def test_client_side_validation_blocks_bad_input(page, stack):
    order = stack.create_order(50000)
    open_page(page, stack, order["id"])
    calls = record_api(page)

    for vpa in ("", "not-a-vpa", "user@bad-bank", "user@ok@bank", "user@"):
        type_into(page.locator(tid("vpa-input")), vpa)
        page.locator(tid("pay-button")).click()
        expect(page.locator(tid("vpa-error"))).to_be_visible()
        expect(page.locator(tid("vpa-input"))).to_have_attribute("aria-invalid", "true")
        expect(page.locator(tid("upi-form"))).to_be_visible()
    # Pasted: 256 characters, past the API's 255 (the API's refusal was all a customer saw)
    type_into(page.locator(tid("vpa-input")), "")
    page.keyboard.insert_text("a" * 249 + "@okaxis")
    page.locator(tid("pay-button")).click()
    expect(page.locator(tid("vpa-error"))).to_have_text("A UPI ID has at most 255 characters")

    enter_card(page, "4242 4242 4242 4241", expiry="01/20", cvv="12", name=" ")
    page.locator(tid("pay-button")).click()
    expect(page.locator(tid("card-number-error"))).to_have_text("Enter a valid card number")
    expect(page.locator(tid("expiry-error"))).to_be_visible()
    expect(page.locator(tid("cvv-error"))).to_be_visible()
    expect(page.locator(tid("cardholder-name-error"))).to_be_visible()

    cases = [
        ("card-number-input", "4242 4242 42", "card-number-error"),  # too short
        ("card-number-input", "4242424242424242424242", "card-number-error"),  # cut to 19, not Luhn
        ("expiry-input", "01/20", "expiry-error"),  # in the past
        ("expiry-input", "13/34", "expiry-error"),  # no month 13 (it was sent as 01/33)
        ("expiry-input", "00/34", "expiry-error"),  # nor 00 (it was sent as 03/4)
        ("expiry-input", "12/203", "expiry-error"),  # three year digits
        ("expiry-input", "12/3", "expiry-error"),  # one year digit
        ("cvv-input", "12a", "cvv-error"),  # the letter never shows: 2 digits
    ]
    good = {"card-number-input": SUCCESS_CARD, "expiry-input": "12/34", "cvv-input": "123"}
    enter_card(page, SUCCESS_CARD)
    for field, value, error in cases:
        type_into(page.locator(tid(field)), value)
        page.locator(tid("pay-button")).click()
        expect(page.locator(tid(error))).to_be_visible()
        expect(page.locator(tid("card-form"))).to_be_visible()
        type_into(page.locator(tid(field)), good[field])

    assert payment_posts(calls) == [], "invalid input reached the API"
    expect(page.locator(tid("processing-state"))).to_be_hidden()

    # What the API accepts passes: dashes in the number, a 4-digit CVV, this month's expiry.
    enter_card(page, "4242-4242-4242-4242", expiry=time.strftime("%m%y"), cvv="1234")
    for error in ("card-number-error", "expiry-error", "cvv-error", "cardholder-name-error"):
        expect(page.locator(tid(error))).to_be_hidden()
    with page.expect_request(lambda r: r.method == "POST" and "/payments/public" in r.url) as sent:
        page.locator(tid("pay-button")).click()
    assert sent.value.post_data_json["card"]["number"] == "4242424242424242"
    expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)


def test_card_payment_sends_the_contract_body_and_polls_every_two_seconds(page, stack):
    order = stack.create_order(50000)
    open_page(page, stack, order["id"])
    calls = record_api(page)
    pay_card(page, SUCCESS_CARD, expiry="07/31", cvv="321", name="  Asha Verma ")

    expect(page.locator(tid("processing-state"))).to_be_visible()
    expect(page.locator(tid("processing-message"))).to_have_text("Processing payment...")
    expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
    payment_id = page.locator(tid("payment-id")).inner_text()
    assert PAYMENT_ID.match(payment_id)
    expect(page.locator(tid("success-message"))).to_contain_text("successful")
    expect(page.locator(tid("processing-state"))).to_be_hidden()

    [post] = payment_posts(calls)
    assert json.loads(post["body"]) == {
        "order_id": order["id"],
        "method": "card",
        "card": {
            "number": "4242424242424242",
            "expiry_month": "07",
            "expiry_year": "31",
            "cvv": "321",
            "holder_name": "Asha Verma",
        },
    }
    polls = [c for c in calls if c["url"].endswith(f"/payments/{payment_id}/public")]
    assert polls and all(c["method"] == "GET" for c in polls)
    # When the browser sent each request, by its own clock: a time taken when the test process
    # gets round to the event would shrink the gaps whenever the machine is busy.
    sent = [c["request"].timing["startTime"] for c in (post, *polls)]
    assert sent[1] - sent[0] >= 1990  # the first look is after 2 s (give or take a ms)
    for before, after in zip(sent[1:], sent[2:], strict=False):
        assert after - before >= 1990

    payment = stack.call("GET", f"/api/v1/payments/{payment_id}").json()
    assert payment["status"] == "success" and payment["card_last4"] == "4242"


def test_failed_payment_then_try_again_succeeds(page, stack, screenshot):
    order = stack.create_order(50000)
    open_page(page, stack, order["id"])
    pay_upi(page, FAILURE_VPA)
    expect(page.locator(tid("error-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
    expect(page.locator(tid("error-message"))).to_contain_text("Payment processing failed")
    expect(page.locator(tid("retry-button"))).to_have_text("Try Again")
    screenshot(page, "checkout-page-failed-1280x800")

    page.locator(tid("retry-button")).click()
    expect(page.locator(tid("upi-form"))).to_be_visible()
    expect(page.locator(tid("error-state"))).to_be_hidden()
    expect(page.locator(tid("vpa-input"))).to_have_value(FAILURE_VPA)

    pay_upi(page, SUCCESS_VPA)
    expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
    expect(page.locator(tid("payment-id"))).to_have_text(PAYMENT_ID)
    screenshot(page, "checkout-page-success-1280x800")


def test_the_apis_refusal_is_shown_and_retry_returns_to_the_form(page, stack):
    order = stack.create_order(50000)
    open_page(page, stack, order["id"])
    # The API refuses what the browser let through (e.g. a rule it enforces and the page does
    # not know yet): the page must show the API's own description.
    refusal = {"error": {"code": "INVALID_VPA", "description": "VPA handle is not supported"}}
    page.route(
        "**/api/v1/payments/public",
        lambda route: route.fulfill(
            status=400, content_type="application/json", body=json.dumps(refusal)
        ),
    )
    pay_upi(page, SUCCESS_VPA)
    expect(page.locator(tid("error-state"))).to_be_visible()
    expect(page.locator(tid("error-message"))).to_have_text("VPA handle is not supported")

    page.unroute("**/api/v1/payments/public")
    page.locator(tid("retry-button")).click()
    expect(page.locator(tid("upi-form"))).to_be_visible()
    page.locator(tid("pay-button")).click()
    expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)


def test_unknown_order_shows_the_apis_error(page, stack):
    page.goto(f"{stack.checkout}/checkout?order_id=order_doesnotexist0000")
    expect(page.locator(tid("error-state"))).to_be_visible()
    expect(page.locator(tid("error-message"))).to_have_text("Order not found")
    expect(page.locator(tid("upi-form"))).to_be_hidden()


def test_missing_order_id_is_explained(page, stack):
    page.goto(f"{stack.checkout}/checkout")
    expect(page.locator(tid("error-state"))).to_be_visible()
    expect(page.locator(tid("error-message"))).to_contain_text("order id")


def test_every_script_comes_from_the_checkout_origin(page, stack):
    """No inline script and no other host: a Content-Security-Policy of script-src 'self' holds."""
    order = stack.create_order(50000)
    scripts: list[tuple[str, str]] = []
    page.on(
        "response",
        lambda r: (
            scripts.append((r.url, r.headers.get("content-type", "")))
            if r.request.resource_type == "script"
            else None
        ),
    )
    open_page(page, stack, order["id"])
    expect(page.locator(tid("order-amount"))).to_have_text("₹500.00")
    found = page.evaluate("[...document.scripts].map(s => s.src || 'inline: ' + s.text)")
    assert found and all(src.startswith(stack.checkout + "/") for src in found), found
    assert f"{stack.checkout}/checkout-fields.js" in found
    assert {url for url, _ in scripts} == set(found)
    assert all(kind.startswith("application/javascript") for _, kind in scripts), scripts


def test_page_can_be_framed_and_card_data_is_not_kept(page, stack):
    order = stack.create_order(50000)
    url = f"{stack.checkout}/checkout?order_id={order['id']}"
    response = page.goto(url)
    assert "x-frame-options" not in response.headers
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" not in csp
    pay_card(page, SUCCESS_CARD, cvv="987")
    expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
    # The URL is the one opened, nothing added (it holds a random port: "987" may be in it).
    assert page.evaluate("location.href") == url
    kept = page.evaluate("""() => JSON.stringify([document.cookie,
        Object.entries(localStorage), Object.entries(sessionStorage)])""")
    assert "4242424242424242" not in kept and "987" not in kept
