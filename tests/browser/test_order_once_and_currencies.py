"""What a customer and a merchant see of money safety (issue 11): a paid order's checkout says
so, a second tab or a double click cannot pay twice, and every amount is shown with its
currency's exponent (a ¥50,000 order shows ¥50,000, not ¥500)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import SETTLE_TIMEOUT, SUCCESS_VPA, tid
from tests.browser.dashboard_helpers import (
    dash_browser_fixture,  # noqa: F401 - registers the `dash_browser` fixture
    dash_page_fixture,  # noqa: F401 - registers the `dash_page` fixture
    settled,
    signed_in_fixture,  # noqa: F401 - registers the `signed_in` fixture
)

pytestmark = pytest.mark.browser


def open_checkout(page, stack, order_id: str):
    page.goto(f"{stack.checkout}/checkout?order_id={order_id}")
    expect(page.locator(tid("checkout-container"))).to_be_visible()
    return page


def type_vpa_and_pay(page, vpa: str = SUCCESS_VPA) -> None:
    """As a person does: click UPI, type the VPA key by key, click Pay."""
    page.locator(tid("method-upi")).click()
    field = page.locator(tid("vpa-input"))
    field.click()
    field.press_sequentially(vpa, delay=15)
    page.locator(f"{tid('upi-form')} {tid('pay-button')}").click()


def paid_order(stack, amount: int = 50000, **extra) -> dict:
    order = stack.create_order(amount, **extra)
    payment = stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": order["id"], "method": "upi", "vpa": SUCCESS_VPA},
    ).json()
    assert settled(stack, payment["id"])["status"] == "success"
    return order


def test_a_paid_orders_checkout_says_already_paid(page, stack):
    order = paid_order(stack, 50000)
    open_checkout(page, stack, order["id"])
    expect(page.locator(tid("error-state"))).to_be_visible()
    expect(page.locator("#error-title")).to_have_text("Already paid")
    expect(page.locator(tid("error-message"))).to_contain_text("already been paid (₹500.00)")
    expect(page.locator(tid("upi-form"))).to_be_hidden()
    expect(page.locator(tid("card-form"))).to_be_hidden()
    expect(page.locator(tid("retry-button"))).to_be_hidden()
    expect(page.locator(tid("order-amount"))).to_have_text("₹500.00")


def test_a_second_tab_cannot_pay_an_order_the_first_paid(page, stack):
    order = stack.create_order(25000)
    second = page.context.new_page()
    try:
        open_checkout(page, stack, order["id"])
        open_checkout(second, stack, order["id"])
        type_vpa_and_pay(page)
        expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
        type_vpa_and_pay(second)  # the customer forgot the first tab
        expect(second.locator("#error-title")).to_have_text("Already paid")
        expect(second.locator(tid("retry-button"))).to_be_hidden()
    finally:
        second.close()
    payments = stack.call("GET", "/api/v1/payments?limit=100").json()["data"]
    assert sum(p["order_id"] == order["id"] for p in payments) == 1


def test_a_second_tab_while_the_first_is_processing_is_told_to_wait(page, stack):
    order = stack.create_order(26000)
    second = page.context.new_page()
    try:
        open_checkout(page, stack, order["id"])
        open_checkout(second, stack, order["id"])
        with stack.bank_paused():  # the first payment stays pending however slow the typing
            type_vpa_and_pay(page)
            expect(page.locator(tid("processing-state"))).to_be_visible()
            type_vpa_and_pay(second)
            expect(second.locator("#error-title")).to_have_text("Payment in progress")
        expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
        second.locator(tid("retry-button")).click()  # looks again: now it is paid
        expect(second.locator("#error-title")).to_have_text("Already paid")
    finally:
        second.close()


def test_a_double_click_on_pay_sends_one_payment(page, stack):
    order = stack.create_order(27000)
    open_checkout(page, stack, order["id"])
    posts = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and "/payments" in r.url else None,
    )
    page.locator(tid("method-upi")).click()
    page.locator(tid("vpa-input")).press_sequentially(SUCCESS_VPA, delay=15)
    page.locator(f"{tid('upi-form')} {tid('pay-button')}").dblclick()
    expect(page.locator(tid("success-state"))).to_be_visible(timeout=SETTLE_TIMEOUT)
    assert len(posts) == 1
    assert stack.call("GET", f"/api/v1/orders/{order['id']}").json()["attempts"] == 1


@pytest.mark.parametrize(
    "amount,currency,shown",
    [
        (50000, "JPY", "¥50,000"),
        (5000000, "JPY", "¥5,000,000"),
        (1500, "KWD", "KWD 1.500"),
        (123456, "USD", "$1,234.56"),
        (50000000, "INR", "₹5,00,000.00"),
    ],
)
def test_the_checkout_shows_each_amount_with_its_currencys_exponent(
    page, stack, amount, currency, shown
):
    order = stack.create_order(amount, currency=currency)
    open_checkout(page, stack, order["id"])
    expect(page.locator(tid("order-amount"))).to_have_text(shown)
    expect(page.locator(tid("pay-button"))).to_have_text(f"Pay {shown}")


def test_the_dashboard_shows_yen_as_yen(signed_in, stack):
    page = signed_in
    yen = stack.create_order(50000, currency="JPY")
    payment = stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": yen["id"], "method": "upi", "vpa": SUCCESS_VPA},
    ).json()
    settled(stack, payment["id"])
    page.goto(stack.dashboard + "/dashboard/transactions")
    row = page.locator(tid("transaction-row") + f'[data-payment-id="{payment["id"]}"]')
    expect(row.locator(tid("amount"))).to_have_text("¥50,000")
    page.goto(stack.dashboard + "/dashboard")
    expect(page.locator(tid("volume-by-currency"))).to_contain_text("¥50,000")
    stats = stack.call("GET", "/api/v1/stats").json()
    assert stats["by_currency"]["JPY"]["total_amount"] >= 50000
    assert "¥" not in page.locator(tid("total-amount")).inner_text()  # the INR figure only


def test_a_refund_resent_after_a_lost_answer_is_not_made_twice(signed_in, stack):
    """The merchant clicks Refund, the answer is lost on the way back, the merchant clicks
    again: the dialog resends with the same Idempotency-Key and gets the first refund back."""
    page = signed_in
    payment = stack.call(
        "POST",
        "/api/v1/payments",
        json={"order_id": stack.create_order(30000)["id"], "method": "upi", "vpa": SUCCESS_VPA},
    ).json()
    settled(stack, payment["id"])
    path = f"**/api/v1/payments/{payment['id']}/refunds"
    keys = []

    def lose_the_answer(route):
        if route.request.method == "POST":
            keys.append(route.request.headers.get("idempotency-key"))
            route.fetch()  # the refund is made...
            route.abort("connectionreset")  # ...and its answer never arrives
        else:
            route.continue_()

    page.goto(stack.dashboard + "/dashboard/transactions")
    row = page.locator(tid("transaction-row") + f'[data-payment-id="{payment["id"]}"]')
    page.route(path, lose_the_answer)
    row.locator(tid("refund-button")).click()
    dialog = page.locator(tid("refund-dialog"))
    field = dialog.locator(tid("refund-amount-input"))
    field.clear()
    field.press_sequentially("120", delay=15)
    dialog.locator(tid("refund-submit-button")).click()
    expect(dialog.locator(tid("refund-error"))).to_be_visible()
    page.unroute(path)
    with page.expect_response(lambda r: r.request.method == "POST" and "/refunds" in r.url) as sent:
        dialog.locator(tid("refund-submit-button")).click()
    assert sent.value.status == 201 and sent.value.headers["idempotent-replayed"] == "true"
    assert sent.value.request.headers["idempotency-key"] == keys[0]
    refunds = stack.call("GET", f"/api/v1/payments/{payment['id']}/refunds").json()
    assert refunds["total"] == 1 and refunds["data"][0]["amount"] == 12000
