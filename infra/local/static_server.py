"""Static sites as CloudFront serves them: the dashboard's paths as its CloudFront Function maps
them (a path without an extension serves its folder's index.html), the checkout's CDN paths
(/checkout.js, /checkout, and locally /demo), and on every answer the security headers of the
site's response headers policy in template.yaml (HSTS, nosniff, referrer policy, CSP naming
the local API).

`/config.js` is what the deploy step writes next to the files from the stack outputs; locally it
is made from the environment so one checkout serves any port.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from infra.deploy.site_headers import origin_of, security_headers
from infra.deploy.static_site import SITE_EXTRAS, cache_control, config_js, content_type

REPO = Path(__file__).resolve().parents[2]


def dashboard_object_key(uri: str) -> str:
    """The object a dashboard URL path reads: template.yaml's DashboardPathsFunction, in
    Python (a test runs both on the same paths)."""
    if uri.endswith("/"):
        return uri + "index.html"
    if uri.rfind(".") < uri.rfind("/"):
        return uri + "/index.html"
    return uri


def resolve(root: Path, path: str, aliases: dict[str, str] | None) -> Path | None:
    """The file for a URL path: an alias of the checkout site, or for the dashboard (no
    aliases) the object its CloudFront Function maps the path to."""
    path = aliases.get(path, path) if aliases is not None else dashboard_object_key(path)
    candidate = (root / path.lstrip("/")).resolve()
    if root.resolve() not in candidate.parents:
        return None
    return candidate if candidate.is_file() else None


def make_handler(root: Path, aliases: dict[str, str] | None, config: bytes, headers: dict):
    extras = SITE_EXTRAS.get(root.name, {})

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms wait between headers and body

        def do_GET(self):  # noqa: N802 - stdlib naming
            path = urlsplit(self.path).path
            if path == "/config.js":
                return self._send(200, config, "application/javascript", "no-cache")
            file = extras.get(path.lstrip("/")) or resolve(root, path, aliases)
            if file is None:
                missing = resolve(root, "/404.html", {})  # as the distribution's error page
                body = missing.read_bytes() if missing else b"Not found"
                return self._send(404, body, "text/html; charset=utf-8", "no-cache")
            # The same headers the deploy step gives each object in the buckets.
            self._send(200, file.read_bytes(), content_type(file), cache_control(file))

        do_HEAD = do_GET  # noqa: N815 - stdlib naming

        def _send(self, status: int, body: bytes, kind: str, cache: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache)
            for name, value in headers.items():
                self.send_header(name, value)
            if kind.startswith("application/javascript"):
                # The SDK is a public script: let merchants load it as an ES module too.
                self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            pass

    return Handler


# site -> (folder, URL aliases or None for the dashboard's path rule, its distribution)
SITES = {
    "checkout": (
        REPO / "sdk",
        {"/": "/demo.html", "/checkout": "/checkout.html", "/demo": "/demo.html"},
        "SdkDistribution",
    ),
    "dashboard": (REPO / "dashboard_static", None, "DashboardDistribution"),
}


def site_headers(site: str, api_url: str) -> dict:
    """The security headers the site's distribution adds, naming the API at `api_url`."""
    return security_headers(SITES[site][2], origin_of(api_url))


def serve(
    site: str, host: str, port: int, api_url: str, checkout_url: str, headers: dict | None = None
) -> None:
    root, aliases, _ = SITES[site]
    config = config_js({"apiBaseUrl": api_url, "checkoutUrl": checkout_url})
    headers = site_headers(site, api_url) if headers is None else headers
    handler = make_handler(root, aliases, config, headers)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{site}: serving {root.name}/ on http://{host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", choices=sorted(SITES))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--checkout-url", required=True)
    parser.add_argument(
        "--headers", type=json.loads, help="the headers as JSON (default: read template.yaml)"
    )
    args = parser.parse_args()
    serve(args.site, args.host, args.port, args.api_url, args.checkout_url, args.headers)
