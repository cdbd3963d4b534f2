"""Webhook endpoints that misbehave, to see delivery's bounds at work (tests and benchmarks).

    python -m infra.local.hostile_receivers trickle --port 9001   # one byte every 0.5 s
    python -m infra.local.hostile_receivers huge --port 9002      # a 200 MB answer
    python -m infra.local.hostile_receivers silent --port 9003    # accepts, never answers

Each counts the connections it accepted and the bytes it managed to send: a delivery that
stops reading after 4 KB leaves `bytes_sent` far below the size of the answer.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from dataclasses import dataclass, field

HUGE_BYTES = 200 * 1024 * 1024
CHUNK = b"\0" * 65536


@dataclass
class HostileReceiver:
    """`mode` is `trickle` (the status line one byte per `interval`), `trickle-body` (status
    and headers at once, then the body one byte per `interval`), `huge` (`status` with a body
    of `size` bytes, as fast as the client reads) or `silent` (never answers)."""

    mode: str
    port: int = 0
    interval: float = 0.5
    size: int = HUGE_BYTES
    status: int = 500
    connections: int = 0
    requests: int = 0
    bytes_sent: int = 0
    closed_by_client: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def start(self) -> HostileReceiver:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", self.port))
        self.server.listen(128)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    def stop(self) -> None:
        self._stopping.set()
        self.server.close()

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self._count(connections=1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                if self.mode == "silent":
                    self._stopping.wait(120)
                    return
                _read_request(conn)
                self._count(requests=1)
                if self.mode == "trickle":
                    self._trickle(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                elif self.mode == "trickle-body":
                    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                    conn.sendall(head)
                    self._trickle(conn, b"x" * 1000)
                elif self.mode == "huge":
                    self._huge(conn)
            except OSError:
                self._count(closed_by_client=1)

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            if self._stopping.wait(self.interval):
                return
            conn.sendall(bytes([byte]))
            self._count(bytes_sent=1)

    def _huge(self, conn: socket.socket) -> None:
        conn.sendall(
            f"HTTP/1.1 {self.status} Oops\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {self.size}\r\n\r\n".encode()
        )
        left = self.size
        while left > 0 and not self._stopping.is_set():
            sent = conn.send(CHUNK[: min(left, len(CHUNK))])
            left -= sent
            self._count(bytes_sent=sent)


def _read_request(conn: socket.socket) -> None:
    """Read one request's head and body (Content-Length), so the client is not answered early."""
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionResetError("client went away")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    conn.settimeout(None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["trickle", "trickle-body", "huge", "silent"])
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between bytes")
    args = parser.parse_args()
    receiver = HostileReceiver(args.mode, args.port, args.interval).start()
    print(f"{args.mode} receiver on {receiver.url}; Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(5)
            print(
                f"connections {receiver.connections}, bytes sent {receiver.bytes_sent}",
                flush=True,
            )
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
