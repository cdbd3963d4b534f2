"""The deploy step's publish of dashboard_static/ to the stack's dashboard bucket (in the emulator):
the S3 website layout (folder/index.html), content types, caching and the generated config.js."""

from __future__ import annotations

import os

import boto3
import pytest

from tests.browser.dashboard_helpers import PAGES, SITE

pytestmark = pytest.mark.browser


def test_publish_dashboard_to_the_stack_bucket(stack):
    from infra.deploy.static_site import publish

    assert os.environ.get("AWS_ENDPOINT_URL") == stack.endpoint
    s3 = boto3.client("s3")
    bucket = stack.runtime.deployment["outputs"]["DashboardBucketName"]
    config = {
        "apiBaseUrl": "https://api.paygate.example/prod",
        "checkoutUrl": "https://checkout.paygate.example",
    }
    keys = publish(SITE, bucket, config, s3)

    site = {
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(SITE).parts)
    }
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert set(keys) == site | {"config.js", "openapi.yaml"}  # the spec the docs page links
    assert set(keys) <= stored
    # S3 website hosting serves /login from login/index.html: no extension-less copies needed.
    assert {"index.html", "404.html", *PAGES.values()} <= stored

    def get(key):
        obj = s3.get_object(Bucket=bucket, Key=key)
        return obj["ContentType"], obj.get("CacheControl"), obj["Body"].read()

    kind, cache, body = get("login/index.html")
    assert kind.startswith("text/html") and "charset=utf-8" in kind and cache == "no-cache"
    assert body == (SITE / "login/index.html").read_bytes()
    assert b'data-test-id="login-form"' in body
    for page in PAGES.values():
        assert get(page)[0].startswith("text/html"), page

    kind, cache, body = get("assets/app.css")
    assert kind.startswith("text/css") and cache.startswith("public, max-age=")
    kind, cache, body = get("assets/api.js")
    assert kind.startswith("application/javascript") and cache.startswith("public, max-age=")
    assert body == (SITE / "assets/api.js").read_bytes()
    assert get("assets/favicon.svg")[0] == "image/svg+xml"

    kind, cache, body = get("config.js")
    assert kind.startswith("application/javascript") and cache == "no-cache"
    assert body.decode() == (
        'window.PAYGATE_CONFIG = {"apiBaseUrl": "https://api.paygate.example/prod", '
        '"checkoutUrl": "https://checkout.paygate.example"};\n'
    )
