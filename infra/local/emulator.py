"""The embedded AWS emulator: moto's server, with the patches of infra.local.moto_patches."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import MotoRequestHandler

from infra.local import moto_patches


def serve(host: str, port: int) -> None:
    """Run moto's server until SIGTERM/SIGINT."""
    moto_patches.apply()
    # Headers and body leave in separate writes: without this each waits on a delayed ACK.
    MotoRequestHandler.disable_nagle_algorithm = True
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
