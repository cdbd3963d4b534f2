"""Fixtures and helpers for the dashboard's tests: Chromium pages, sign-in, screenshots, a local
webhook receiver, and reading the code snippets out of the docs page's HTML.

Test modules import the fixtures they use under their `*_fixture` names, which registers them by
their plain names (`dash_page`, `signed_in`, ...) without shadowing them in the module.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.checkout_flows import type_into
from tests.browser.chromium import ARTIFACTS, CHROMIUM_ARGS, EXECUTABLE

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "dashboard_static"
DESKTOP = {"width": 1280, "height": 860}
MOBILE = {"width": 390, "height": 844}
TEST_EMAIL = "test@example.com"

# Pages of the site: URL path -> file, as S3 website hosting serves them (index documents).
PAGES = {
    "/login": "login/index.html",
    "/dashboard": "dashboard/index.html",
    "/dashboard/transactions": "dashboard/transactions/index.html",
    "/dashboard/webhooks": "dashboard/webhooks/index.html",
    "/dashboard/docs": "dashboard/docs/index.html",
}


def tid(test_id: str, **attrs: str) -> str:
    """CSS selector for a contract test id (`data-test-id`, not Playwright's `data-testid`), with
    optional extra attributes: tid("transaction-row", payment_id="pay_x")."""
    extra = "".join(f'[data-{k.replace("_", "-")}="{v}"]' for k, v in attrs.items())
    return f'[data-test-id="{test_id}"]{extra}'


# ---------------------------------------------------------------------------- money
def inr(paise: int) -> str:
    """Rupees with Indian digit grouping as the dashboard shows them: 50000000 -> ₹5,00,000."""
    rupees, fraction = divmod(int(paise), 100)
    digits = str(rupees)
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    text = ",".join([*groups, tail]) if groups else tail
    return "₹" + text + (f".{fraction:02d}" if fraction else "")


# ---------------------------------------------------------------------------- browser
_OWN_BROWSER: dict = {}  # started here when no shared one exists; one per process


@pytest.fixture(scope="session", name="dash_browser")
def dash_browser_fixture(request):
    """Debian's Chromium. Playwright's sync API allows one driver per thread, so when the browser
    tier's conftest provides a session `browser`, that one is shared; else one is started here
    (once, whichever test module asks first)."""
    try:
        yield request.getfixturevalue("browser")
        return
    except pytest.FixtureLookupError:
        pass
    if "browser" in _OWN_BROWSER:
        yield _OWN_BROWSER["browser"]
        return
    from playwright.sync_api import sync_playwright

    executable = EXECUTABLE
    if not Path(executable).exists():
        pytest.fail(f"Chromium not found at {executable} (apt-get install chromium)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        _OWN_BROWSER["browser"] = browser
        yield browser
        _OWN_BROWSER.clear()
        browser.close()


@pytest.fixture(name="dash_page")
def dash_page_fixture(dash_browser):
    """Factory for pages in fresh contexts. Uncaught script errors and Content-Security-Policy
    violations in any of them fail the test."""
    contexts = []
    problems: list[str] = []

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"CSP: {message.text}")

    def make(viewport: dict | None = None, **options):
        context = dash_browser.new_context(viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
        page.on("console", on_console)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


def sign_in(page, stack, email: str = TEST_EMAIL, password: str = "any-password"):
    """Sign in through the login form and wait for the dashboard."""
    page.goto(stack.dashboard + "/login")
    type_into(page.locator(tid("email-input")), email)
    type_into(page.locator(tid("password-input")), password)
    page.locator(tid("login-button")).click()
    page.wait_for_url(stack.dashboard + "/dashboard")
    return page


def dashboard_page_url(name: str) -> re.Pattern:
    """The address of the dashboard page `name` ("home", "transactions", "webhooks", ...),
    whatever query string it carries: the transactions and webhooks pages write their pager into
    it (`?page=1&limit=10`, by history.replaceState) as soon as their first rows arrive."""
    path = "/dashboard" if name == "home" else f"/dashboard/{name}"
    return re.compile(re.escape(path) + r"/?(\?[^#]*)?$")


def wait_for_dashboard_page(page, name: str) -> None:
    """Wait until the dashboard page `name` is the one shown: its address (loaded), and its
    sidebar link marked as the current page.

    Never a pattern that ends at the path: this test process may look at the URL only after
    the page has written its pager into it (on a loaded machine the events of the page's
    load and of that rewrite can be read before the URL is), and wait_for_url then waits for
    a navigation that never comes (the 1-in-5 webhooks timeout of issue 14)."""
    page.wait_for_url(dashboard_page_url(name))
    expect(page.locator(tid(f"nav-{name}"))).to_have_attribute("aria-current", "page")


def open_from_sidebar(page, name: str) -> None:
    """Click the sidebar's link to the dashboard page `name` and wait until that page is shown."""
    page.locator(tid(f"nav-{name}")).click()
    wait_for_dashboard_page(page, name)


@pytest.fixture(name="signed_in")
def signed_in_fixture(dash_page, stack):
    """A desktop page signed in as the seeded test merchant, on /dashboard."""
    return sign_in(dash_page(), stack)


def shot(page, name: str, full_page: bool = True) -> Path:
    """Save tests/browser/artifacts/<name>.png (git-ignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_until(predicate, timeout: float = 15, interval: float = 0.2, message: str = ""):
    """Poll `predicate` until it returns something truthy; fail with `message` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(interval)


def answer_late(page, held, url: re.Pattern) -> None:
    """Let a request the test held (`page.route(url, lambda route: held.append(route))`)
    through, and return once the page has had its answer: the fetch is in the page's resource
    timings and the task that handled it has run."""
    with page.expect_event("requestfinished", lambda request: url.match(request.url)):
        held.pop().continue_()
    page.wait_for_function(
        """(source) => performance.getEntriesByType("resource")
            .some((entry) => new RegExp(source).test(entry.name))""",
        arg=url.pattern,
    )
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")


def pay(stack, amount: int = 50000, vpa: str = "success@okbank") -> dict:
    """An order paid by UPI through the merchant API; returns the payment (still pending)."""
    order = stack.create_order(amount)
    response = stack.call(
        "POST", "/api/v1/payments", json={"order_id": order["id"], "method": "upi", "vpa": vpa}
    )
    assert response.status_code == 201, response.text
    return response.json()


def settled(stack, payment_id: str, timeout: float = 15) -> dict:
    """Wait until the payment has left `pending`; return it."""

    def check():
        payment = stack.call("GET", f"/api/v1/payments/{payment_id}").json()
        return payment if payment["status"] != "pending" else None

    return wait_until(check, timeout, message=f"{payment_id} still pending")


# ---------------------------------------------------------------------------- webhook receiver
@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A merchant's webhook endpoint on 127.0.0.1: records every POST and answers `status`."""

    status: int = 200
    deliveries: list[Delivery] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/paygate"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - stdlib naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.deliveries.append(Delivery(self.path, headers, body))
                reply = json.dumps({"received": receiver.status < 300}).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format, *args):  # noqa: A002 - stdlib signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def for_event(self, event_id: str | None = None, name: str | None = None) -> list[Delivery]:
        found = []
        for delivery in list(self.deliveries):
            try:
                event = delivery.event
            except ValueError:
                continue
            if (event_id is None or event.get("id") == event_id) and (
                name is None or event.get("event") == name
            ):
                found.append(delivery)
        return found


@pytest.fixture(name="webhook_receiver")
def webhook_receiver_fixture():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


# ---------------------------------------------------------------------------- docs snippets
class _TextOf(HTMLParser):
    """The text inside the element carrying data-test-id=<test_id> (entities decoded)."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "base", "col"}

    def __init__(self, test_id: str):
        super().__init__(convert_charrefs=True)
        self.test_id = test_id
        self.depth = 0
        self.parts: list[str] = []
        self.found = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("data-test-id") == self.test_id:
            self.depth = 1
            self.found += 1

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def snippet(test_id: str, page: str = "dashboard/docs/index.html") -> str:
    """The text of the element with `data-test-id=test_id` in a page of dashboard_static/."""
    parser = _TextOf(test_id)
    parser.feed((SITE / page).read_text(encoding="utf-8"))
    parser.close()
    assert parser.found == 1, f"{test_id}: {parser.found} elements in {page}"
    return "".join(parser.parts)


def page_test_ids(page: str) -> list[str]:
    """Every data-test-id in a page of dashboard_static/, in document order."""

    class Collect(HTMLParser):
        ids: list[str] = []

        def handle_starttag(self, tag, attrs):
            value = dict(attrs).get("data-test-id")
            if value:
                self.ids.append(value)

    parser = Collect()
    parser.ids = []
    parser.feed((SITE / page).read_text(encoding="utf-8"))
    return parser.ids
