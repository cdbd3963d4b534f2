"""A merchant's webhook endpoint for local development: verifies both signature schemes and
prints each event.

    python -m infra.local.webhook_receiver --port 9000 --secret whsec_test_abc123
    TEST_MERCHANT_WEBHOOK_URL=http://localhost:9000/webhooks make run

It verifies the way a merchant's server would, from the raw body: the legacy
`X-Webhook-Signature` (hex HMAC-SHA256 keyed by the whole secret string) and, for `whsec_`
secrets, the Standard Webhooks `webhook-signature` over "{webhook-id}.{webhook-timestamp}.{body}".
While a secret is being rolled, give both (`--secret NEW --secret OLD`): a delivery verifies
when any of them matches, as a merchant's server would accept during the overlap.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _secrets(secret: str | list[str] | tuple[str, ...]) -> list[str]:
    return [secret] if isinstance(secret, str) else list(secret)


def verify_legacy(body: bytes, headers: dict, secret: str | list[str]) -> bool:
    """`X-Webhook-Signature` matches the body under `secret` (or any of several)."""
    offered = headers.get("x-webhook-signature", "")
    return any(
        hmac.compare_digest(hmac.new(s.encode(), body, hashlib.sha256).hexdigest(), offered)
        for s in _secrets(secret)
    )


def verify_standard(body: bytes, headers: dict, secret: str | list[str]) -> bool | None:
    """True/False when a secret is in the `whsec_` form (any of several may match); None when
    none is."""
    keys = []
    for candidate in _secrets(secret):
        if not candidate.startswith("whsec_"):
            continue
        try:
            keys.append(base64.b64decode(candidate[6:], validate=True))
        except (binascii.Error, ValueError):
            continue
    if not keys:
        return None
    signed = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode()
    offered = [
        s.split(",", 1)[1]
        for s in headers.get("webhook-signature", "").split()
        if s.startswith("v1,")
    ]
    for key in keys:
        expected = base64.b64encode(hmac.new(key, signed + body, hashlib.sha256).digest())
        if any(hmac.compare_digest(expected.decode(), s) for s in offered):
            return True
    return False


@dataclass
class Delivery:
    at: float
    headers: dict
    body: bytes
    legacy_ok: bool
    standard_ok: bool | None

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A threaded HTTP receiver; `status` is what it answers (change it at any time).
    `secret` verifies deliveries, and so does any of `other_secrets` (a roll's overlap)."""

    secret: str
    port: int = 0
    status: int = 200
    delay: float = 0.0
    quiet: bool = True
    other_secrets: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def secrets(self) -> list[str]:
        return [self.secret, *self.other_secrets]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms wait between headers and body

            def do_POST(self):  # noqa: N802 - stdlib naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                delivery = Delivery(
                    time.time(),
                    headers,
                    body,
                    verify_legacy(body, headers, receiver.secrets),
                    verify_standard(body, headers, receiver.secrets),
                )
                receiver.deliveries.append(delivery)
                if not receiver.quiet:
                    print(
                        json.dumps(
                            {
                                "event": delivery.event.get("event"),
                                "id": delivery.event.get("id"),
                                "legacy_signature_ok": delivery.legacy_ok,
                                "standard_signature_ok": delivery.standard_ok,
                            }
                        ),
                        flush=True,
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                reply = b'{"received":true}'
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format, *args):  # noqa: A002 - stdlib signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--secret",
        action="append",
        help="the merchant's webhook secret (GET /api/v1/webhooks/config); repeat it to accept "
        "the previous one too while a regenerated secret's overlap lasts "
        "(default whsec_test_abc123)",
    )
    parser.add_argument("--status", type=int, default=200, help="HTTP status to answer")
    args = parser.parse_args()
    secrets = args.secret or ["whsec_test_abc123"]
    receiver = Receiver(
        secrets[0], args.port, args.status, quiet=False, other_secrets=secrets[1:]
    ).start()
    print(f"webhook receiver on {receiver.url} (answering {args.status}); Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
