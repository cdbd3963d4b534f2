"""The API function behind a local stand-in for API Gateway (`make run`).

Requests are routed by the template's `Api` events and handed to the function's handler
(`app.app`) as API Gateway's proxy events, exactly as Lambda would run it; what API Gateway
answers itself (unknown routes, oversized bodies, a crashing function) comes from the template's
`GatewayResponses` (infra.local.api_gateway). HTTP as API Gateway accepts it: keep-alive,
HTTP/1.0, `Expect: 100-continue`, and bodies sent with `Content-Length` or chunked (what Node's
`http.request` sends without a length).

Lambda hands a sandbox one request at a time; this server runs each connection in its own
thread, so the requests of a page (a fetch and another's CORS preflight) reach the one handler at
once. Chalice keeps the request being served on the app object (`app.current_request`, read by
every view through `bp.current_request`): the server gives each thread its own (see
`one_request_per_thread`).

Started by the runtime with the API function's environment (the runtime seeds the test merchant).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chalice import Chalice

from infra.local import api_gateway
from infra.local.lambda_runtime import LambdaContext


class BadRequestBody(Exception):
    """The request's framing is broken (a malformed chunk, a bad Content-Length)."""


class TooLarge(Exception):
    """The body is over API Gateway's payload quota."""


def read_chunked(rfile, limit: int) -> bytes:
    """A `Transfer-Encoding: chunked` body (RFC 9112 §7.1), trailers skipped."""
    chunks, total = [], 0
    while True:
        line = rfile.readline(1026)
        if not line.endswith(b"\n"):
            raise BadRequestBody("Malformed chunked body")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise BadRequestBody("Malformed chunked body") from exc
        if size < 0:
            raise BadRequestBody("Malformed chunked body")
        if size == 0:
            break
        total += size
        if total > limit:
            raise TooLarge()
        data = rfile.read(size)
        if len(data) != size or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise BadRequestBody("Malformed chunked body")
        chunks.append(data)
    while True:  # trailer fields, then the empty line
        line = rfile.readline(8192)
        if line in (b"\r\n", b"\n", b""):
            break
    return b"".join(chunks)


class GatewayHandler(BaseHTTPRequestHandler):
    """One connection: requests in, the function's or the gateway's answers out."""

    protocol_version = "HTTP/1.1"  # keep-alive; HTTP/1.0 clients get their connection closed
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "paygate-local-gateway"
    sys_version = ""

    def __getattr__(self, name: str):
        # Every method, known or not, goes through the routes (http.server would answer a method
        # without a do_<METHOD> with an HTML 501 page).
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return read_chunked(self.rfile, api_gateway.MAX_PAYLOAD_BYTES)
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError as exc:
            raise BadRequestBody("Invalid Content-Length") from exc
        if length < 0:
            raise BadRequestBody("Invalid Content-Length")
        if length > api_gateway.MAX_PAYLOAD_BYTES:
            raise TooLarge()
        body = self.rfile.read(length)
        if len(body) != length:
            raise BadRequestBody("Request body shorter than its Content-Length")
        return body

    def _handle(self) -> None:
        server = self.server
        try:
            body = self._read_body()
        except TooLarge:
            self.close_connection = True  # the rest of the body is never read
            return self._gateway("REQUEST_TOO_LARGE", "Request Too Long")
        except BadRequestBody as exc:
            self.close_connection = True
            return self._gateway("BAD_REQUEST_BODY", str(exc))
        found = api_gateway.match(server.routes, self.command, self.path.split("?", 1)[0])
        if found is None:
            return self._gateway("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        route, params = found
        event = api_gateway.proxy_event(
            route,
            params,
            self.command,
            self.path,
            list(self.headers.items()),
            body,
            server.stage,
            self.client_address[0],
        )
        context = LambdaContext(server.function_name, server.timeout_seconds)
        try:
            result = server.handler(event, context)
        except Exception:  # the function crashed: API Gateway answers for it
            return self._gateway("INTEGRATION_FAILURE", "Internal server error", status=502)
        self._send(
            int(result.get("statusCode", 200)),
            api_gateway.response_headers(result),
            api_gateway.response_body(result),
            event["requestContext"]["requestId"],
        )

    def _gateway(self, kind: str, message: str, status: int | None = None) -> None:
        request_id = str(uuid.uuid4())
        answer = api_gateway.gateway_response(
            self.server.gateway_responses, kind, message, request_id
        )
        headers = list(answer.headers.items())
        self._send(status or answer.status, headers, answer.body, request_id)

    def _send(self, status: int, headers, body: bytes, request_id: str | None) -> None:
        try:
            self._write(status, headers, body, request_id)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (a browser aborting a fetch): nobody to answer, no traceback.
            self.close_connection = True

    def _write(self, status: int, headers, body: bytes, request_id: str | None) -> None:
        self.send_response(status)
        names = set()
        for name, value in headers:
            if name.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            names.add(name.lower())
            self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        if request_id:
            self.send_header("x-amzn-RequestId", request_id)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """Malformed request lines and headers, a URL over http.server's 64 KiB (414): the
        envelope with a request id, as API Gateway's own 4XX answers (DEFAULT_4XX), never
        http.server's HTML page."""
        self.close_connection = True
        # A request line too broken to name its version would get a bare body (HTTP/0.9).
        self.request_version = "HTTP/1.1"
        request_id = str(uuid.uuid4())
        answer = api_gateway.gateway_response(
            self.server.gateway_responses, "BAD_REQUEST_BODY", message or "Bad request", request_id
        )
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-RequestId", request_id)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


class GatewayServer(ThreadingHTTPServer):
    """A thread per connection (keep-alive clients keep theirs), a deep accept backlog."""

    daemon_threads = True
    request_queue_size = 128
    block_on_close = False


class _PerThread:
    """An attribute of an object with one value per thread (None until a thread sets it)."""

    def __init__(self) -> None:
        self._values = threading.local()

    def __get__(self, obj, owner=None):
        return self if obj is None else getattr(self._values, "value", None)

    def __set__(self, obj, value) -> None:
        self._values.value = value


def one_request_per_thread(handler):
    """`handler`, with a Chalice app's per-request state (the request being served and its
    Lambda context) kept per thread, so that concurrent requests each see their own, as each
    would in its own Lambda sandbox. Shared, a view could read the request of another thread:
    a dashboard fetch answered as the preflight next to it (204, no body) or authenticated with
    the preflight's missing token (401: the dashboard signs out, issue 14's phone-screen flake).
    Anything else is returned as it is."""
    kept = getattr(type(handler), "current_request", None)
    if isinstance(handler, Chalice) and not isinstance(kept, _PerThread):
        handler.__class__ = type(
            "PerThread" + type(handler).__name__,
            (type(handler),),
            {"current_request": _PerThread(), "lambda_context": _PerThread()},
        )
    return handler


def make_server(host: str, port: int, handler, function_name: str, timeout: int) -> GatewayServer:
    """The local API Gateway for `handler` (the API function's Lambda handler), which serves
    concurrent requests (see `one_request_per_thread`)."""
    routes, responses, stage = api_gateway.load()
    server = GatewayServer((host, port), GatewayHandler)
    server.routes, server.gateway_responses, server.stage = routes, responses, stage
    server.handler = one_request_per_thread(handler)
    server.function_name, server.timeout_seconds = function_name, timeout
    return server


def serve(host: str, port: int) -> None:
    from app import app  # the function's handler module, on PYTHONPATH as in /var/task

    from paygate.wiring import services

    services()  # the wiring and its clients, before the first request
    server = make_server(
        host,
        port,
        app,
        os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "paygate-api"),
        int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "10")),
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"api: serving on http://{host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    serve(args.host, args.port)
