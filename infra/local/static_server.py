"""Static sites as their hosts serve them: S3 website rules for the dashboard (a path serves its
folder's index.html) and the CDN paths of the checkout (/checkout.js, /checkout, /demo).

`/config.js` is what the deploy step writes next to the files from the stack outputs; locally it
is made from the environment so one checkout serves any port.
"""

from __future__ import annotations

import argparse
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from infra.deploy.static_site import SITE_EXTRAS, cache_control, config_js, content_type

REPO = Path(__file__).resolve().parents[2]


def resolve(root: Path, path: str, aliases: dict[str, str]) -> Path | None:
    """The file for a URL path: an alias, the file itself, or the folder's index.html."""
    path = aliases.get(path, path)
    candidate = (root / path.lstrip("/")).resolve()
    if root.resolve() not in candidate.parents and candidate != root.resolve():
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    elif not candidate.exists() and candidate.with_suffix(".html").exists():
        candidate = candidate.with_suffix(".html")
    return candidate if candidate.is_file() else None


def make_handler(root: Path, aliases: dict[str, str], config: bytes):
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
                missing = resolve(root, "/404.html", {})
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
            self.send_header("X-Content-Type-Options", "nosniff")
            if kind.startswith("application/javascript"):
                # The SDK is a public script: let merchants load it as an ES module too.
                self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - stdlib signature
            pass

    return Handler


SITES = {
    "checkout": (
        REPO / "sdk",
        {"/": "/demo.html", "/checkout": "/checkout.html", "/demo": "/demo.html"},
    ),
    "dashboard": (REPO / "dashboard_static", {"/": "/index.html"}),
}


def serve(site: str, host: str, port: int, api_url: str, checkout_url: str) -> None:
    root, aliases = SITES[site]
    config = config_js({"apiBaseUrl": api_url, "checkoutUrl": checkout_url})
    handler = make_handler(root, aliases, config)
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
    args = parser.parse_args()
    serve(args.site, args.host, args.port, args.api_url, args.checkout_url)
