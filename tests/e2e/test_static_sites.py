"""The static sites as the local runtime serves them (the same headers the buckets get)."""

from __future__ import annotations

import requests


def test_dashboard_serves_the_openapi_document_its_docs_page_links(stack):
    docs = requests.get(stack.dashboard + "/dashboard/docs", timeout=5).text
    assert 'href="/openapi.yaml"' in docs
    spec = requests.get(stack.dashboard + "/openapi.yaml", timeout=5)
    assert spec.status_code == 200 and spec.headers["Content-Type"].startswith("application/yaml")
    assert spec.text.startswith("openapi: 3.1")


def test_config_js_points_at_this_stack(stack):
    for site in (stack.dashboard, stack.checkout):
        config = requests.get(site + "/config.js", timeout=5)
        assert config.headers["Cache-Control"] == "no-cache"
        assert f'"apiBaseUrl": "{stack.api}"' in config.text


def test_checkout_paths_and_cache_headers(stack):
    script = requests.get(stack.checkout + "/checkout.js", timeout=5)
    assert script.status_code == 200 and script.headers["Cache-Control"] == "public, max-age=300"
    page = requests.get(stack.checkout + "/checkout?order_id=order_x", timeout=5)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-cache"
    assert "X-Frame-Options" not in page.headers  # the SDK's modal frames it
    assert requests.get(stack.checkout + "/nope", timeout=5).status_code == 404
