"""The embedded AWS emulator: moto's server, tuned so SQS delays end on time."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.sqs import models as sqs_models

_original_wait = sqs_models.Queue.wait_for_messages


def _prompt_wait(self, timeout):
    # moto's long poll sleeps up to 1 s on a condition that only a *new* message wakes, so a
    # delayed message that becomes visible is seen up to a second late. Re-checking every 20 ms
    # keeps the simulated bank time (SQS DelaySeconds) exact without giving up long polling.
    return _original_wait(self, min(timeout, 0.02))


def serve(host: str, port: int) -> None:
    """Run moto's server until SIGTERM/SIGINT."""
    sqs_models.Queue.wait_for_messages = _prompt_wait
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"emulator: moto server on http://{host}:{port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    serve(args.host, args.port)
