"""The dashboard's files as S3 website hosting serves them, read from disk (no browser, no stack):
page layout, the contract's test ids (CONTRACT §11), config.js first, absolute same-site assets,
no CDN, scripts that parse."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from tests.browser.dashboard_helpers import PAGES, SITE, inr, page_test_ids

CONTRACT_IDS = {
    "login/index.html": ["login-form", "email-input", "password-input", "login-button"],
    "dashboard/index.html": [
        "dashboard",
        "api-credentials",
        "api-key",
        "api-secret",
        "stats-container",
        "total-transactions",
        "total-amount",
        "success-rate",
    ],
    "dashboard/transactions/index.html": ["transactions-table"],
    "dashboard/webhooks/index.html": [
        "webhook-config",
        "webhook-config-form",
        "webhook-url-input",
        "webhook-secret",
        "regenerate-secret-button",
        "save-webhook-button",
        "test-webhook-button",
        "webhook-logs-table",
    ],
    "dashboard/docs/index.html": [
        "api-docs",
        "section-create-order",
        "code-snippet-create-order",
        "section-sdk-integration",
        "code-snippet-sdk",
        "section-webhook-verification",
        "code-snippet-webhook",
    ],
}
# Rendered by the page scripts for each row: the ids must appear there exactly.
ROW_IDS = {
    "assets/transactions.js": [
        "transaction-row",
        "payment-id",
        "order-id",
        "amount",
        "created-at",
    ],
    "assets/webhooks.js": [
        "webhook-log-item",
        "webhook-event",
        "webhook-status",
        "webhook-attempts",
        "webhook-last-attempt",
        "webhook-response-code",
        "retry-webhook-button",
    ],
}


class Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[str | None] = []
        self.links: list[str] = []
        self.anchors: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href", "action") and v]
        if tag == "script":
            self.scripts.append(attrs.get("src"))
        elif tag == "link":
            self.links.append(attrs["href"])
        elif tag == "a" and attrs.get("href"):
            self.anchors.append(attrs["href"])


def refs(page: str) -> Refs:
    parser = Refs()
    parser.feed((SITE / page).read_text(encoding="utf-8"))
    return parser


ALL_PAGES = ["index.html", "404.html", *PAGES.values()]


def test_pages_are_laid_out_for_s3_index_documents():
    for page in ALL_PAGES:
        assert (SITE / page).is_file(), page
    assert set(PAGES.values()) == {
        "login/index.html",
        "dashboard/index.html",
        "dashboard/transactions/index.html",
        "dashboard/webhooks/index.html",
        "dashboard/docs/index.html",
    }


@pytest.mark.parametrize("page", sorted(CONTRACT_IDS))
def test_contract_test_ids_are_on_their_page(page):
    ids = page_test_ids(page)
    for test_id in CONTRACT_IDS[page]:
        assert ids.count(test_id) == 1, f"{test_id} appears {ids.count(test_id)} times in {page}"


@pytest.mark.parametrize("script", sorted(ROW_IDS))
def test_row_test_ids_are_rendered_by_the_page_scripts(script):
    source = (SITE / script).read_text(encoding="utf-8")
    for test_id in ROW_IDS[script]:
        assert re.search(r'testId: "' + re.escape(test_id) + '"', source) or re.search(
            r'cell\("' + re.escape(test_id) + '"', source
        ), f"{test_id} not rendered by {script}"
    if script == "assets/transactions.js":
        # method and status are rendered through the shared helpers with these ids
        assert 'P.method(p, "method")' in source and 'P.badge(p.status, "status")' in source


@pytest.mark.parametrize("page", ALL_PAGES)
def test_config_js_loads_first_and_assets_are_absolute_and_local(page):
    found = refs(page)
    scripts = [s for s in found.scripts if s]
    assert scripts[0] == "/config.js", f"{page} must load /config.js first"
    assert None not in found.scripts, f"{page} has an inline script (the CSP forbids them)"
    for url in scripts + found.links:
        assert url.startswith("/") and not url.startswith("//"), f"{page}: {url} is not absolute"
        if url != "/config.js":
            assert (SITE / url.lstrip("/")).is_file(), f"{page}: {url} does not exist"
    for href in found.anchors:
        assert not re.match(r"(https?:)?//", href), f"{page} links off-site: {href}"
    for url in found.urls:
        assert not re.match(r"(https?:)?//", url), f"{page} loads from another site: {url}"


def test_no_file_depends_on_a_cdn():
    for path in SITE.rglob("*"):
        if path.suffix in {".css", ".js"}:
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"@import|url\((['\"])?(https?:)?//|import\(", text), path


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_scripts_parse():
    for path in sorted((SITE / "assets").glob("*.js")):
        result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"


def test_signed_in_pages_require_a_session_and_the_login_page_does_not():
    for page in ["dashboard/index.html", "dashboard/transactions/index.html"]:
        assert '<html lang="en" data-auth="required">' in (SITE / page).read_text()
    for page in ["dashboard/webhooks/index.html", "dashboard/docs/index.html"]:
        assert '<html lang="en" data-auth="required">' in (SITE / page).read_text()
    assert "data-auth" not in (SITE / "login/index.html").read_text()


@pytest.mark.parametrize(
    "paise, text",
    [(50000000, "₹5,00,000"), (0, "₹0"), (99, "₹0.99"), (12345678901, "₹12,34,56,789.01")],
)
def test_inr_helper_matches_the_contract_example(paise, text):
    assert inr(paise) == text
