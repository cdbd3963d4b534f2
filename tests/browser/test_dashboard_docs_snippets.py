"""The docs page's code snippets, taken from the HTML file exactly as merchants copy them, are run:
the webhook verifiers in Python and in Node against deliveries signed here (and by the official
`standardwebhooks` library), and the curl command against the running stack."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime

import pytest

from tests.browser.dashboard_helpers import snippet

LEGACY_SECRET = "whsec_test_abc123"  # the seeded merchant's: not base64, so legacy only
STANDARD_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"\x07" * 32).decode()


def event_body(event_id: str = "evt_Ab12Cd34Ef56Gh78") -> bytes:
    """A delivery body as Paygate sends it: compact JSON, non-ASCII kept as UTF-8."""
    event = {
        "id": event_id,
        "event": "payment.success",
        "timestamp": int(time.time()),
        "data": {
            "payment": {"id": "pay_Zx98Yw76Vu54Ts32", "amount": 50000, "currency": "INR"},
            "note": "₹500 for Café Ünïcode",
        },
    }
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def legacy_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_signature(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def cases() -> list[dict]:
    """(kind, body, signature or headers, secret) -> expected verdict."""
    body = event_body()
    tampered = body.replace(b"50000", b"50001")
    now = int(time.time())
    msg_id = "evt_Ab12Cd34Ef56Gh78"
    good = standard_signature(msg_id, now, body, STANDARD_SECRET)

    from standardwebhooks import Webhook

    official = Webhook(STANDARD_SECRET).sign(
        msg_id, datetime.fromtimestamp(now, tz=UTC), body.decode("utf-8")
    )

    def std(signature, timestamp=now, payload=body, secret=STANDARD_SECRET, ident=msg_id):
        headers = {
            "webhook-id": ident,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
        return {"kind": "standard", "body": payload, "headers": headers, "secret": secret}

    def legacy(signature, payload=body, secret=LEGACY_SECRET):
        return {"kind": "legacy", "body": payload, "signature": signature, "secret": secret}

    old = now - 3600
    sig = legacy_signature(body, LEGACY_SECRET)
    off_by_one = sig[:-1] + ("1" if sig[-1] == "0" else "0")
    return [
        (legacy(legacy_signature(body, LEGACY_SECRET)), True),
        (legacy(legacy_signature(body, STANDARD_SECRET), secret=STANDARD_SECRET), True),
        (legacy(legacy_signature(body, LEGACY_SECRET), payload=tampered), False),
        (legacy(legacy_signature(body, LEGACY_SECRET), secret="whsec_test_other"), False),
        (legacy(""), False),
        (legacy(off_by_one), False),
        (std(good), True),
        (std(official), True),
        (std("v1,bm90IGl0 " + good), True),  # several signatures: any one may match
        (std(good.replace("v1,", "v2,")), False),
        (std(good, payload=tampered), False),
        (std(good, ident="evt_Other000000000"), False),
        (std(good, secret=OTHER_SECRET), False),
        (std(standard_signature(msg_id, old, body, STANDARD_SECRET), timestamp=old), False),
        (std(good, timestamp="not-a-number"), False),
        (std(""), False),
    ]


@pytest.fixture(name="signed_cases")
def signed_cases_fixture() -> list:
    """Signed now, when the test runs: a standard signature is good for five minutes only, and
    the browser tier takes longer than that from collection to this module."""
    return cases()


def python_verdicts(signed_cases) -> list[bool]:
    namespace: dict = {}
    exec(compile(snippet("code-snippet-webhook-python"), "docs-python", "exec"), namespace)
    verdicts = []
    for case, _ in signed_cases:
        if case["kind"] == "legacy":
            verdicts.append(
                namespace["verify_legacy"](case["body"], case["signature"], case["secret"])
            )
        else:
            # Frameworks hand over headers in their own case: the snippet must not mind.
            headers = {k.title(): v for k, v in case["headers"].items()}
            verdicts.append(namespace["verify_standard"](case["body"], headers, case["secret"]))
    return verdicts


NODE_HARNESS = """
const { verifyLegacy, verifyStandard } = require("./snippet.js");
const cases = JSON.parse(require("node:fs").readFileSync(process.argv[2], "utf8"));
const verdicts = cases.map((c) => {
  const body = Buffer.from(c.body, "base64");
  return c.kind === "legacy"
    ? verifyLegacy(body, c.signature, c.secret)
    : verifyStandard(body, c.headers, c.secret);
});
console.log(JSON.stringify(verdicts));
"""


def node_verdicts(tmp_path, signed_cases) -> list[bool]:
    (tmp_path / "snippet.js").write_text(snippet("code-snippet-webhook-node"), encoding="utf-8")
    (tmp_path / "harness.js").write_text(NODE_HARNESS, encoding="utf-8")
    payload = [
        {**case, "body": base64.b64encode(case["body"]).decode()} for case, _ in signed_cases
    ]
    (tmp_path / "cases.json").write_text(json.dumps(payload), encoding="utf-8")
    result = subprocess.run(
        ["node", "harness.js", "cases.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_webhook_snippet_has_python_and_node_for_both_schemes():
    text = snippet("code-snippet-webhook")
    assert snippet("code-snippet-webhook-python") in text
    assert snippet("code-snippet-webhook-node") in text
    for name in ("X-Webhook-Signature", "webhook-id", "webhook-timestamp", "webhook-signature"):
        assert name.lower() in text.lower(), name


def test_python_snippet_verifies_both_signature_schemes(signed_cases):
    assert python_verdicts(signed_cases) == [expected for _, expected in signed_cases]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_snippet_verifies_both_signature_schemes(tmp_path, signed_cases):
    assert node_verdicts(tmp_path, signed_cases) == [expected for _, expected in signed_cases]


def test_sdk_snippet_loads_checkout_js_and_opens_the_modal():
    text = snippet("code-snippet-sdk")
    assert '<script src="http://localhost:3001/checkout.js"></script>' in text
    script = text.split("<script>", 1)[1].split("</script>", 1)[0]
    assert re.search(r"new PaymentGateway\(\{.*\}\)\.open\(\);", script, re.S)
    for option in ("key:", "orderId:", "onSuccess:", "onFailure:", "onClose:"):
        assert option in script, option


def run_curl(command: str, status: int) -> dict:
    """Run a documented curl command as a shell would; its JSON answer, checked for `status`."""
    result = subprocess.run(
        ["bash", "-c", command + " --silent --show-error --write-out '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    body, answered = result.stdout.rsplit("\n", 1)
    assert answered == str(status), result.stdout
    return json.loads(body)


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_create_order_snippet_runs_against_the_stack(stack):
    command = snippet("code-snippet-create-order")
    assert command.startswith("curl ") and "http://localhost:8000/api/v1/orders" in command
    command = command.replace("http://localhost:8000", stack.api)
    order = run_curl(command, 201)
    assert re.fullmatch(r"order_[A-Za-z0-9]{16}", order["id"])
    assert (order["amount"], order["currency"], order["status"]) == (50000, "INR", "created")
    stored = stack.call("GET", f"/api/v1/orders/{order['id']}")
    assert stored.status_code == 200 and stored.json()["receipt"] == "receipt_1001"


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_add_endpoint_snippet_runs_against_the_stack(stack):
    """The snippet as printed, with a fresh merchant's credentials (the seeded merchant's
    webhooks stay as the contract has them) and a URL that resolves here."""
    from tests.security.helpers import signup

    account = signup(stack, "Docs Endpoint Shop")
    command = snippet("code-snippet-endpoint")
    assert command.startswith("curl ") and "/api/v1/webhook_endpoints" in command
    command = "\n".join(line for line in command.splitlines() if not line.startswith("#"))
    for old, new in (
        ("http://localhost:8000", stack.api),
        ("key_test_abc123", account["api_key"]),
        ("secret_test_xyz789", account["api_secret"]),
        ("https://yourstore.example/webhooks/fulfilment", "http://127.0.0.1:9/fulfilment"),
    ):
        assert old in command, old
        command = command.replace(old, new)
    endpoint = run_curl(command, 201)
    assert endpoint["enabled_events"] == ["payment.success", "refund.processed"]
    assert endpoint["secret"].startswith("whsec_") and endpoint["description"] == "Fulfilment"
