"""The merchant dashboard in headless Chromium against the local stack: sign-in and sign-out,
credentials, live stats, the 7-day chart, transactions with refunds, the docs page, layout on a
phone. Screenshots of every page land in tests/browser/artifacts/."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import type_into
from tests.browser.dashboard_helpers import (
    MOBILE,
    PAGES,
    answer_late,
    dash_browser_fixture,  # noqa: F401 - registers the `dash_browser` fixture
    dash_page_fixture,  # noqa: F401 - registers the `dash_page` fixture
    inr,
    open_from_sidebar,
    pay,
    settled,
    shot,
    sign_in,
    signed_in_fixture,  # noqa: F401 - registers the `signed_in` fixture
    tid,
    wait_for_dashboard_page,
    wait_until,
)

pytestmark = pytest.mark.browser

CREATED_AT = re.compile(r"^\d{2} [A-Z][a-z]{2} \d{4}, \d{1,2}:\d{2} [ap]m$")


def percent(rate: float) -> str:
    rounded = round(rate)
    if (rounded == 100 and rate < 100) or (rounded == 0 and rate > 0):
        return f"{int(rate * 10) / 10 or 0.1}%"
    return f"{rounded}%"


def api_stats(stack) -> dict:
    response = stack.call("GET", "/api/v1/stats")
    assert response.status_code == 200, response.text
    return response.json()


def expect_stats(page, stats: dict, timeout: float = 15_000):
    count = inr(stats["total_transactions"] * 100)[1:]  # Indian grouping, no symbol
    expect(page.locator(tid("total-transactions"))).to_have_text(count, timeout=timeout)
    expect(page.locator(tid("total-amount"))).to_have_text(
        inr(stats["total_amount"]), timeout=timeout
    )
    expect(page.locator(tid("success-rate"))).to_have_text(
        percent(stats["success_rate"]), timeout=timeout
    )


# ---------------------------------------------------------------------------- sign-in
def test_signed_out_visitors_are_sent_to_login(dash_page, stack):
    page = dash_page()
    page.goto(stack.dashboard + "/")
    page.wait_for_url(stack.dashboard + "/login")
    for path in PAGES:
        page.goto(stack.dashboard + path)
        page.wait_for_url(stack.dashboard + "/login")
    expect(page.locator(tid("login-form"))).to_be_visible()
    shot(page, "dashboard-login")


def test_unknown_paths_get_the_404_page(dash_page, stack):
    page = dash_page()
    response = page.goto(stack.dashboard + "/no/such/page")
    assert response.status == 404
    expect(page.locator(tid("not-found"))).to_be_visible()
    shot(page, "dashboard-404")


def test_login_shows_the_api_error_and_stays_on_login(dash_page, stack):
    page = dash_page()
    page.goto(stack.dashboard + "/login")
    type_into(page.locator(tid("email-input")), "nobody@example.com")
    type_into(page.locator(tid("password-input")), "whatever-password")
    page.locator(tid("login-button")).click()
    expect(page.locator(tid("login-error"))).to_have_text("Invalid email or password")
    assert page.url == stack.dashboard + "/login"
    type_into(page.locator(tid("email-input")), "test@example.com")
    page.locator(tid("password-input")).clear()
    page.locator(tid("login-button")).click()
    expect(page.locator(tid("login-error"))).to_have_text("Enter your password.")
    assert page.evaluate("sessionStorage.length") == 0
    shot(page, "dashboard-login-error")


def test_reveal_clicked_before_the_credentials_arrive_shows_the_secret(dash_page, stack):
    """A person may click Reveal while the overview is still loading the credentials: the
    secret shows once they arrive (they used to mask it again, and the click was lost)."""
    page = dash_page()
    held = []  # the credentials request, answered only when the test lets it
    page.route("**/api/v1/merchant", lambda route: held.append(route))
    with page.expect_request("**/api/v1/merchant"):
        sign_in(page, stack)
    page.locator(tid("reveal-secret-button")).click()
    expect(page.locator(tid("reveal-secret-button"))).to_have_text("Hide")
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator(tid("api-key"))).to_have_text("key_test_abc123")
    expect(page.locator(tid("api-secret"))).to_have_text("secret_test_xyz789")
    expect(page.locator(tid("reveal-secret-button"))).to_have_text("Hide")


def test_login_keeps_a_bearer_token_and_sign_out_drops_it(dash_page, stack):
    page = dash_page()
    with page.expect_request("**/api/v1/merchant") as request:
        sign_in(page, stack)
    assert re.fullmatch(r"Bearer \S+", request.value.headers["authorization"])
    token = page.evaluate("sessionStorage.getItem('paygate.dashboard.token')")
    assert request.value.headers["authorization"] == f"Bearer {token}"
    # The root sends a signed-in merchant to the dashboard.
    page.goto(stack.dashboard + "/")
    page.wait_for_url(stack.dashboard + "/dashboard")
    page.locator(tid("logout-button")).click()
    page.wait_for_url(stack.dashboard + "/login")
    assert page.evaluate("sessionStorage.getItem('paygate.dashboard.token')") is None
    page.goto(stack.dashboard + "/dashboard")
    page.wait_for_url(stack.dashboard + "/login")


def test_a_rejected_token_returns_to_login(signed_in, stack):
    page = signed_in
    page.evaluate("sessionStorage.setItem('paygate.dashboard.token', 'not-a-valid-token')")
    page.goto(stack.dashboard + "/dashboard/transactions")
    page.wait_for_url(re.compile(re.escape(stack.dashboard) + r"/login\?expired=1$"))
    expect(page.locator(tid("login-error"))).to_contain_text("session has ended")
    assert page.evaluate("sessionStorage.getItem('paygate.dashboard.token')") is None


# ---------------------------------------------------------------------------- home
def test_home_shows_credentials_and_live_stats(signed_in, stack):
    page = signed_in
    expect(page.locator(tid("dashboard"))).to_be_visible()
    credentials = page.locator(tid("api-credentials"))
    expect(credentials.locator(tid("api-key"))).to_have_text("key_test_abc123")
    secret = credentials.locator(tid("api-secret"))
    expect(secret).to_have_text(re.compile(r"^•{16,}$"))
    page.locator(tid("reveal-secret-button")).click()
    expect(secret).to_have_text("secret_test_xyz789")
    page.locator(tid("reveal-secret-button")).click()
    expect(secret).not_to_contain_text("secret")
    expect(page.locator(tid("merchant-name"))).to_have_text("Test Merchant")

    expect_stats(page, api_stats(stack))
    # The chart: one bar per day of the last week, and a summary.
    expect(page.locator(f"{tid('volume-chart')} svg rect.bar")).to_have_count(7)
    shot(page, "dashboard-home")


def test_stats_follow_a_new_payment_without_reload(signed_in, stack):
    page = signed_in
    # Start from settled numbers: earlier tests' payments may still be pending.
    wait_until(
        lambda: all(
            p["status"] != "pending"
            for p in stack.call("GET", "/api/v1/payments", params={"limit": 100}).json()["data"]
        ),
        20,
        message="earlier payments still pending",
    )
    before = api_stats(stack)
    expect_stats(page, before)
    payment = pay(stack, 43210)
    assert settled(stack, payment["id"])["status"] == "success"
    after = api_stats(stack)
    assert after["total_transactions"] == before["total_transactions"] + 1
    assert after["total_amount"] == before["total_amount"] + 43210
    # No reload: the page refreshes itself every 5 seconds.
    expect_stats(page, after, timeout=12_000)
    expect(page.locator(tid("recent-payments"))).to_contain_text(payment["id"], timeout=12_000)
    shot(page, "dashboard-home-after-payment")


def test_total_amount_uses_indian_grouping(signed_in, stack):
    page = signed_in
    sample = page.evaluate(
        "[Paygate.money(50000000), Paygate.money(1234567899), Paygate.money(50000, 'INR', true),"
        " Paygate.percent(95), Paygate.percent(99.6), Paygate.percent(100)]"
    )
    assert sample == ["₹5,00,000", "₹1,23,45,678.99", "₹500.00", "95%", "99.6%", "100%"]


# ---------------------------------------------------------------------------- sidebar
@pytest.mark.parametrize("name", ["transactions", "webhooks"])
def test_a_page_is_found_after_it_wrote_its_pager_into_the_address(signed_in, name):
    """These pages write their pager into the address (`?page=1&limit=10`) once their first rows
    arrive. Waiting for the page still finds it when that happened before the test looked at
    the URL, as it can on a loaded machine: a wait for the bare path then timed out, the
    1-in-5 webhooks failure of issue 14."""
    page = signed_in
    page.locator(tid(f"nav-{name}")).click()
    page.wait_for_url(re.compile(r"\?page=1&limit=10$"))  # written, and seen by this process
    wait_for_dashboard_page(page, name)
    assert page.url.endswith(f"/dashboard/{name}/?page=1&limit=10")


# ---------------------------------------------------------------------------- transactions
def test_transactions_table_lists_payments_newest_first(signed_in, stack):
    failed = pay(stack, 10100, vpa="failure@okbank")
    payment = pay(stack, 50000)
    page = signed_in
    open_from_sidebar(page, "transactions")
    table = page.locator(tid("transactions-table"))
    row = table.locator(tid("transaction-row", payment_id=payment["id"]))
    expect(row).to_be_visible()
    expect(row.locator(tid("payment-id"))).to_have_text(payment["id"])
    expect(row.locator(tid("order-id"))).to_have_text(payment["order_id"])
    expect(row.locator(tid("amount"))).to_have_text("₹500.00")
    expect(row.locator(tid("method"))).to_have_text("upi")
    expect(row.locator(tid("created-at"))).to_have_text(CREATED_AT)
    # Pending rows are followed until they settle, without a reload.
    expect(row.locator(tid("status"))).to_have_text("success", timeout=12_000)
    failed_row = table.locator(tid("transaction-row", payment_id=failed["id"]))
    expect(failed_row.locator(tid("status"))).to_have_text("failed", timeout=12_000)
    expect(failed_row.locator(tid("refund-button"))).to_have_count(0)
    expect(row.locator(tid("refund-button"))).to_be_visible()
    ids = table.locator(tid("transaction-row")).evaluate_all(
        "rows => rows.map(r => r.dataset.paymentId)"
    )
    assert ids[:2] == [payment["id"], failed["id"]]
    shot(page, "dashboard-transactions")


def test_transactions_paginate(signed_in, stack):
    total = stack.call("GET", "/api/v1/payments", params={"limit": 1}).json()["total"]
    for _ in range(max(0, 11 - total)):
        pay(stack, 100)
    total = stack.call("GET", "/api/v1/payments", params={"limit": 1}).json()["total"]
    page = signed_in
    page.goto(stack.dashboard + "/dashboard/transactions")
    rows = page.locator(tid("transaction-row"))
    expect(rows).to_have_count(10)
    expect(page.locator(tid("page-info"))).to_have_text(f"Showing 1–10 of {total}")
    first_page = rows.evaluate_all("rows => rows.map(r => r.dataset.paymentId)")
    expected = stack.call("GET", "/api/v1/payments", params={"limit": 10}).json()["data"]
    assert first_page == [p["id"] for p in expected]
    expect(page.locator(tid("prev-page-button"))).to_be_disabled()
    page.locator(tid("next-page-button")).click()
    expect(page.locator(tid("page-info"))).to_have_text(f"Showing 11–{min(20, total)} of {total}")
    second_page = rows.evaluate_all("rows => rows.map(r => r.dataset.paymentId)")
    assert second_page and not set(second_page) & set(first_page)
    page.reload()  # the page number is kept in the address
    expect(page.locator(tid("page-info"))).to_have_text(f"Showing 11–{min(20, total)} of {total}")
    # An address edited past the API's deepest offset (10 000) shows the last page, not an error
    last = -(-total // 10)
    page.goto(stack.dashboard + "/dashboard/transactions?page=1002&limit=10")
    expect(page.locator(tid("page-info"))).to_have_text(
        f"Showing {(last - 1) * 10 + 1}–{total} of {total}"
    )
    assert f"page={last}&" in page.url


def test_next_clicked_while_a_refresh_is_on_its_way_shows_the_next_page(signed_in, stack):
    """Page 1 refreshes itself while a payment on it is pending. Next, clicked while such a
    refresh is on its way, shows page 2, also after that refresh answers late (the click was
    dropped, and page 1's rows were drawn under "Showing 11–20")."""
    for _ in range(max(0, 11 - stack.call("GET", "/api/v1/payments").json()["total"])):
        pay(stack, 100)
    page = signed_in
    rows = page.locator(tid("transaction-row"))
    first_page = re.compile(r".*/api/v1/payments\?limit=10&offset=0$")
    held = []  # page 1's refresh, answered only when the test lets it
    with stack.bank_paused():
        pending = pay(stack, 100)
        total = stack.call("GET", "/api/v1/payments").json()["total"]
        page.goto(stack.dashboard + "/dashboard/transactions")
        expect(rows.first).to_have_attribute("data-payment-id", pending["id"])
        with page.expect_request(first_page):
            page.route(first_page, lambda route: held.append(route))
        with page.expect_request(lambda request: "offset=10" in request.url):
            page.locator(tid("next-page-button")).click()
        second_page = stack.call("GET", "/api/v1/payments?limit=10&offset=10").json()["data"]
        info = f"Showing 11–{min(20, total)} of {total}"
        expect(page.locator(tid("page-info"))).to_have_text(info)
        expect(rows.first).to_have_attribute("data-payment-id", second_page[0]["id"])

        answer_late(page, held, first_page)
        shown = rows.evaluate_all("rows => rows.map(r => r.dataset.paymentId)")
        assert shown == [p["id"] for p in second_page]
        expect(page.locator(tid("page-info"))).to_have_text(info)
        assert "page=2" in page.url


def test_a_255_character_upi_id_keeps_the_table_inside_its_card(signed_in, stack):
    """The longest UPI ID the API takes used to stretch the table to 2,169 px at 1,280."""
    payment = pay(stack, 100, vpa="a" * 248 + "@okaxis")
    page = signed_in
    open_from_sidebar(page, "transactions")
    expect(page.locator(tid("transaction-row", payment_id=payment["id"]))).to_be_visible()
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), wrap.evaluate(
        "el => [el.scrollWidth, el.clientWidth]"
    )


def test_refund_a_successful_payment(signed_in, stack):
    payment = pay(stack, 25000)
    assert settled(stack, payment["id"])["status"] == "success"
    page = signed_in
    page.goto(stack.dashboard + "/dashboard/transactions")
    row = page.locator(tid("transaction-row", payment_id=payment["id"]))
    row.locator(tid("refund-button")).click()
    dialog = page.locator(tid("refund-dialog"))
    expect(dialog).to_be_visible()
    expect(dialog.locator(tid("refund-amount-input"))).to_have_value("250.00")
    type_into(dialog.locator(tid("refund-amount-input")), "100.50")
    type_into(dialog.locator(tid("refund-reason-input")), "Customer returned one item")
    with page.expect_response(f"**/api/v1/payments/{payment['id']}/refunds") as response:
        dialog.locator(tid("refund-submit-button")).click()
    assert response.value.status == 201, response.value.text()
    assert response.value.request.headers.get("idempotency-key")
    expect(dialog).to_be_hidden()
    refund = response.value.json()
    assert refund["amount"] == 10050 and refund["payment_id"] == payment["id"]
    assert refund["reason"] == "Customer returned one item"
    expect(page.locator(tid("toast")).last).to_contain_text(refund["id"])

    # More than what is left: the API's description is shown in the dialog.
    row.locator(tid("refund-button")).click()
    expect(dialog.locator(tid("refund-amount-input"))).to_have_value("149.50")
    type_into(dialog.locator(tid("refund-amount-input")), "200")
    dialog.locator(tid("refund-submit-button")).click()
    error = stack.call(
        "POST", f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 20000}
    ).json()["error"]["description"]
    expect(dialog.locator(tid("refund-error"))).to_have_text(error)
    expect(dialog).to_be_visible()
    shot(page, "dashboard-refund-error", full_page=False)


# ---------------------------------------------------------------------------- docs
def test_docs_snippets_are_filled_in_for_this_deployment(signed_in, stack):
    page = signed_in
    open_from_sidebar(page, "docs")
    docs = page.locator(tid("api-docs"))
    for section, code in [
        ("section-create-order", "code-snippet-create-order"),
        ("section-sdk-integration", "code-snippet-sdk"),
        ("section-webhook-verification", "code-snippet-webhook"),
    ]:
        expect(docs.locator(tid(section))).to_be_visible()
        expect(docs.locator(tid(section)).locator(tid(code))).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-credentials", "filled")
    curl = docs.locator(tid("code-snippet-create-order")).inner_text()
    assert f"{stack.api}/api/v1/orders" in curl
    sdk = docs.locator(tid("code-snippet-sdk")).inner_text()
    assert f'<script src="{stack.checkout}/checkout.js"></script>' in sdk

    # The command as shown on the page creates an order.
    result = subprocess.run(
        ["bash", "-c", curl + " --silent --show-error"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r'"id":\s*"order_[A-Za-z0-9]{16}"', result.stdout), result.stdout
    shot(page, "dashboard-docs")


def test_docs_sdk_snippet_opens_the_checkout(signed_in, stack, tmp_path):
    """The SDK snippet, as shown, pasted into a merchant page on another origin."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    page = signed_in
    page.goto(stack.dashboard + "/dashboard/docs")
    expect(page.locator("html")).to_have_attribute("data-credentials", "filled")
    code = page.locator(tid("code-snippet-sdk")).inner_text()
    order = stack.create_order(50000)
    assert "order_xxxxxxxxxxxxxxxx" in code
    html = "<!doctype html><meta charset=utf-8><title>Shop</title><body>\n"
    (tmp_path / "shop.html").write_text(
        html + code.replace("order_xxxxxxxxxxxxxxxx", order["id"]), encoding="utf-8"
    )

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        shop = page.context.new_page()
        logs: list[str] = []
        shop.on("console", lambda message: logs.append(message.text))
        shop.goto(f"http://127.0.0.1:{server.server_address[1]}/shop.html")
        shop.locator("#pay-button").click()
        frame = shop.locator(tid("payment-iframe"))
        expect(frame).to_be_visible()
        assert f"order_id={order['id']}" in frame.get_attribute("src")
        expect(shop.frame_locator(tid("payment-iframe")).locator(tid("order-amount"))).to_have_text(
            "₹500.00"
        )
        shop.locator(tid("close-modal-button")).click()
        expect(shop.locator(tid("payment-modal"))).to_have_count(0)
        wait_until(lambda: "Checkout closed" in logs, 5, message=f"onClose not called: {logs}")
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------- layout
def listed(page) -> None:
    """A list page (transactions, webhooks) once its first page of rows has arrived."""
    expect(page.locator(tid("page-info"))).to_have_text(re.compile(r"^(Showing |No results)"))


# Each page once its data has arrived, as a person sees it (its widest content is then laid out).
SHOWN = {
    "/dashboard": lambda page: expect(page.locator(tid("stats-updated"))).to_have_text(
        re.compile(r"^Updated ")
    ),
    "/dashboard/transactions": listed,
    "/dashboard/webhooks": listed,
    # The snippets carry the merchant's own credentials.
    "/dashboard/docs": lambda page: expect(page.locator("html")).to_have_attribute(
        "data-credentials", "filled"
    ),
}


@pytest.mark.parametrize("path", list(PAGES)[1:])
def test_pages_fit_a_phone_screen(dash_page, stack, path):
    page = sign_in(dash_page(MOBILE), stack)
    page.goto(stack.dashboard + path)
    wait_for_dashboard_page(page, "home" if path == "/dashboard" else path.rsplit("/", 1)[-1])
    SHOWN[path](page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    for nav in ("nav-home", "nav-transactions", "nav-webhooks", "nav-docs"):
        box = page.locator(tid(nav)).bounding_box()
        assert box and box["width"] > 0
    name = path.strip("/").replace("/", "-")
    shot(page, f"{name}-mobile")
