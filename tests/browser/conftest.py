"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser), a
merchant page on its own origin that embeds the SDK, and screenshots in tests/browser/artifacts/.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.chromium import ARTIFACTS, CHROMIUM_ARGS, EXECUTABLE, EXPECT_TIMEOUT_MS

expect.set_options(timeout=EXPECT_TIMEOUT_MS)

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 360, "height": 640}

# A merchant's page: nothing but the SDK's script tag and the three callbacks, recorded in
# window.events so a test can read what the SDK reported and in which order.
MERCHANT_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Merchant shop</title>
  <style>
    body {{ font-family: Georgia, serif; margin: 0; background: #fdf6ec; color: #3b2f2f; }}
    header {{ padding: 18px 24px; background: #3b2f2f; color: #fdf6ec; font-size: 20px; }}
    main {{ padding: 24px; }}
    .item {{ max-width: 420px; padding: 18px; background: #fff; border-radius: 10px; }}
  </style>
  <script src="{checkout}/checkout.js"></script>
</head>
<body>
  <header>Merchant shop</header>
  <main>
    <div class="item"><h2>Espresso machine</h2><p>&#8377;500.00</p>
      <button id="buy">Buy now</button></div>
  </main>
  <script>
    window.events = [];
    window.openCheckout = function (orderId, extra) {{
      window.checkout = new PaymentGateway(Object.assign({{
        key: 'key_test_abc123',
        orderId: orderId,
        onSuccess: function (data) {{ window.events.push({{type: 'success', data: data}}); }},
        onFailure: function (data) {{ window.events.push({{type: 'failure', data: data}}); }},
        onClose: function () {{ window.events.push({{type: 'close'}}); }}
      }}, extra || {{}}));
      window.checkout.open();
    }};
  </script>
</body>
</html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="session")
def merchant_site(stack, tmp_path_factory):
    """A merchant's shop on http://127.0.0.1:<port>, a different origin from the checkout's
    http://localhost:<port>; `/shop.html` loads checkout.js from the checkout host."""
    root = tmp_path_factory.mktemp("merchant-site")
    (root / "shop.html").write_text(MERCHANT_PAGE.format(checkout=stack.checkout))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    executable = EXECUTABLE
    if not Path(executable).exists():
        pytest.fail(
            f"Chromium not found at {executable} (apt-get install chromium, or set CHROMIUM)"
        )
    browser = playwright_driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser):
    """Factory: a page in a fresh context (own cookies and storage) with the given viewport.
    Uncaught script errors and Content-Security-Policy violations (the checkout's and the demo's
    pages are served with the CSP CloudFront adds) in the page or its frames fail the test."""
    contexts = []
    errors: list[str] = []

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(f"CSP: {message.text}")

    def make(viewport: dict | None = None, **options):
        context = browser.new_context(viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", on_console)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught script errors: {errors}"


@pytest.fixture
def page(new_page):
    return new_page(DESKTOP)


@pytest.fixture
def screenshot(request):
    """Save a screenshot as tests/browser/artifacts/<name>.png (folder is git-ignored), with
    finite animations run to their end, so no test has to sleep for the picture.

    Pictures are taken at CSS-pixel scale (`scale="css"`), never at the device scale: under
    device-metrics emulation with a device scale factor of 2 (the 360 px phone), Chromium takes
    a device-scale screenshot by re-emulating the page at another viewport scale and restoring
    it afterwards, and about one time in three the out-of-process checkout iframe (a different
    site from the merchant's page) is left with stale input routing: every click at its place
    then lands on the merchant page's <iframe> element and never reaches the checkout, until
    the next emulation change. At CSS scale nothing is re-emulated. This was the flaky "clicking
    UPI did not show the UPI form" at 360 px (issue 14);
    test_checkout_sdk.py::test_screenshots_leave_the_checkout_frame_clickable guards it.
    """

    def save(page, name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, scale="css", animations="disabled")
        return path

    return save
