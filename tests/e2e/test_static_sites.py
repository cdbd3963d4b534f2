"""The static sites as the local runtime serves them (the same headers the buckets get)."""

from __future__ import annotations

from urllib.parse import urlsplit

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


def csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_every_answer_carries_the_distributions_security_headers(stack):
    """The local servers stand in for CloudFront: the same headers, the CSP naming the API."""
    for site, paths in (
        (stack.dashboard, ["/login", "/dashboard/webhooks", "/assets/api.js", "/config.js", "/x"]),
        (stack.checkout, ["/checkout?order_id=order_x", "/checkout.js", "/demo", "/nope"]),
    ):
        for path in paths:
            response = requests.get(site + path, timeout=5)
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert csp(response)["script-src"] == ["'self'"], path


def test_the_dashboard_refuses_frames_and_the_checkout_allows_merchants(stack):
    dashboard = requests.get(stack.dashboard + "/dashboard", timeout=5)
    assert dashboard.headers["X-Frame-Options"] == "DENY"
    assert csp(dashboard)["frame-ancestors"] == ["'none'"]
    # A CSP source is an origin here: with a path it would match that one path only.
    api = urlsplit(stack.api)
    api_origin = f"{api.scheme}://{api.netloc}"
    assert csp(dashboard)["connect-src"] == ["'self'", api_origin]
    checkout = requests.get(stack.checkout + "/checkout?order_id=order_x", timeout=5)
    assert "X-Frame-Options" not in checkout.headers
    assert "'none'" not in csp(checkout)["frame-ancestors"]
    assert csp(checkout)["connect-src"] == [api_origin]


def test_dashboard_paths_are_served_as_its_cloudfront_function_maps_them(stack):
    for path, marker in (
        ("/", None),
        ("/login", 'data-test-id="login-form"'),
        ("/login/", 'data-test-id="login-form"'),
        ("/dashboard", 'data-test-id="dashboard"'),
        ("/dashboard/transactions", 'data-test-id="transactions-table"'),
        ("/dashboard/webhooks/", 'data-test-id="webhook-config"'),
        ("/dashboard/docs", 'data-test-id="api-docs"'),
    ):
        response = requests.get(stack.dashboard + path, timeout=5)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].startswith("text/html")
        assert marker is None or marker in response.text, path
    for missing in ("/nope", "/dashboard/nope", "/404", "/../template.yaml", "/assets/none.js"):
        response = requests.get(stack.dashboard + missing, timeout=5)
        assert response.status_code == 404, missing
