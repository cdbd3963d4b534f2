"""The API function served by Chalice's local server, standing in for API Gateway.

Started by the runtime with the API function's environment (the runtime seeds the test merchant).
"""

from __future__ import annotations

import argparse
import signal
import threading

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    ThreadedHTTPServer,
)

NOT_FOUND = b'{"error":{"code":"NOT_FOUND_ERROR","description":"No such endpoint or method"}}'


class EnvelopeRequestHandler(ChaliceRequestHandler):
    """API Gateway answers an unknown path with a 403 'Missing Authentication Token'; the
    deployed API maps that to our 404 envelope (GatewayResponses), and so does this server."""

    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (40 ms) on every keep-alive request.
    disable_nagle_algorithm = True

    def _send_error_response(self, error):
        if isinstance(error, ForbiddenError):
            self._send_http_response(404, {"Content-Type": "application/json"}, NOT_FOUND)
            return
        super()._send_error_response(error)

    def __getattr__(self, name: str):
        # http.server answers methods it has no do_<METHOD> for with an HTML 501 page.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        body = (
            b'{"error":{"code":"BAD_REQUEST_ERROR","description":"Unsupported method: '
            + self.command.encode("ascii", "replace")
            + b'"}}'
        )
        self._send_http_response(405, {"Content-Type": "application/json"}, body)

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


class BacklogServer(ThreadedHTTPServer):
    request_queue_size = 128


def serve(host: str, port: int) -> None:
    from app import app  # the function's handler module, on PYTHONPATH as in /var/task

    from paygate.db.connection import warm_up

    warm_up()
    config = Config.create(chalice_stage="dev", lambda_timeout=10, app_name="paygate")
    # What chalice.local.create_local_server does, with our handler and a deeper backlog.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    server = LocalDevServer(
        app, config, host, port, handler_cls=EnvelopeRequestHandler, server_cls=BacklogServer
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"api: serving on http://{host}:{port}", flush=True)
    server.server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    serve(args.host, args.port)
