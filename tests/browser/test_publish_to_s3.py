"""The deploy step's static-site publish, against the deployed stack's SDK bucket in the
emulator: every file with its type and caching, the generated config.js, the /checkout key."""

from __future__ import annotations

import json
import os
import re
import uuid

import boto3
import pytest

from infra.deploy.static_site import publish, site_files
from infra.local.static_server import REPO

pytestmark = pytest.mark.browser

SDK = REPO / "sdk"


@pytest.fixture
def s3(stack):
    assert os.environ.get("AWS_ENDPOINT_URL") == stack.endpoint
    return boto3.client("s3", endpoint_url=stack.endpoint)


def test_publish_sdk_site_to_the_stack_bucket(stack, s3):
    bucket = stack.runtime.deployment["outputs"]["SdkBucketName"]
    config = {"apiBaseUrl": "https://api.example.com/v1", "checkoutUrl": "https://cdn.example.com"}
    keys = publish(SDK, bucket, config, s3, prune=True)

    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    files = {p.relative_to(SDK).as_posix() for p in site_files(SDK)}
    assert {
        "checkout.js",
        "checkout.html",
        "checkout-page.js",
        "checkout-fields.js",
        "checkout.css",
        "demo.html",
        "demo.js",
    } <= files
    # The demo store holds the test credentials: never published by default.
    expected = {f for f in files if not f.startswith("demo.")} | {"config.js", "checkout"}
    assert set(keys) == expected
    assert stored == expected

    def head(key):
        obj = s3.get_object(Bucket=bucket, Key=key)
        return obj["ContentType"], obj["CacheControl"], obj["Body"].read()

    kind, cache, body = head("checkout.js")
    assert kind.startswith("application/javascript") and cache == "public, max-age=300"
    assert body == (SDK / "checkout.js").read_bytes()
    # Every script the hosted page loads goes up as JavaScript (its CSP will allow only 'self').
    for src in re.findall(r'<script src="/([^"]+)"', (SDK / "checkout.html").read_text()):
        if src != "config.js":
            kind, cache, body = head(src)
            assert kind.startswith("application/javascript") and cache == "public, max-age=300"
            assert body == (SDK / src).read_bytes()
    kind, cache, _ = head("checkout.css")
    assert kind.startswith("text/css") and cache == "public, max-age=300"
    kind, cache, body = head("checkout.html")
    assert kind.startswith("text/html") and cache == "no-cache"
    assert body == (SDK / "checkout.html").read_bytes()

    # /checkout behind CloudFront: an extension-less key that is served as HTML.
    kind, cache, body = head("checkout")
    assert kind.startswith("text/html") and cache == "no-cache"
    assert body == (SDK / "checkout.html").read_bytes()

    kind, cache, body = head("config.js")
    assert kind.startswith("application/javascript") and cache == "no-cache"
    text = body.decode()
    prefix, suffix = "window.PAYGATE_CONFIG = ", ";\n"
    assert text.startswith(prefix) and text.endswith(suffix)
    assert json.loads(text[len(prefix) : -len(suffix)]) == config


def test_publish_prunes_stale_objects_and_never_uploads_a_local_config(stack, s3, tmp_path):
    bucket = f"paygate-publish-test-{uuid.uuid4().hex[:12]}"  # its own: pruning empties it
    s3.create_bucket(Bucket=bucket)
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>x</title>")
    (site / "assets" / "app.js").write_text("console.log(1)")
    (site / "config.js").write_text("window.PAYGATE_CONFIG = {'stale': true};")
    (site / ".DS_Store").write_bytes(b"junk")
    s3.put_object(Bucket=bucket, Key="old.html", Body=b"gone soon")

    keys = publish(site, bucket, {"apiBaseUrl": "http://api"}, s3, prune=True)
    assert keys == ["assets/app.js", "config.js", "index.html"]  # no checkout alias here
    stored = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert stored == keys
    body = s3.get_object(Bucket=bucket, Key="config.js")["Body"].read().decode()
    assert body == 'window.PAYGATE_CONFIG = {"apiBaseUrl": "http://api"};\n'


def test_the_demo_store_is_published_only_on_request(stack, s3):
    bucket = f"paygate-publish-demo-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    config = {"apiBaseUrl": "http://localhost:8000", "checkoutUrl": "http://localhost:3001"}
    keys = publish(SDK, bucket, config, s3, with_demo=True)
    assert {"demo", "demo.html", "demo.js", "demo.css"} <= set(keys)
    demo = s3.get_object(Bucket=bucket, Key="demo")
    assert demo["ContentType"].startswith("text/html")
    assert demo["Body"].read() == (SDK / "demo.html").read_bytes()
    # Publishing again without it prunes the demo away.
    keys = publish(SDK, bucket, config, s3, prune=True)
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert not {k for k in stored if k.startswith("demo")} and stored == set(keys)
