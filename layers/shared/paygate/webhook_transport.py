"""One webhook POST with hard bounds: pinned to the checked address, 5 s in all, 4 KB read.

requests (and `requests-hardened`, evaluated in docs/reliability.md) bound each socket
operation, not the request, and read whole bodies; so the attempt is made with urllib3's
connection classes directly:

- the URL is parsed and resolved once (`paygate.webhook_urls`), and the socket connects to that
  address; `Host`, TLS SNI and certificate verification use the name from the URL;
- a `Deadline` shuts the socket down when the attempt's time is up, which wakes any blocked
  connect, TLS handshake, send or read (a receiver trickling one byte a second is cut off);
- the answer is streamed and only its first `body_limit` bytes are read, never decompressed;
- redirects are not followed and nothing is retried here (retries are the schedule's job).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, replace
from http.client import HTTPException

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from paygate.errors import BadRequest
from paygate.webhook_urls import HostUnresolvable, Resolver, parse_target, resolve_target

DEADLINE_SECONDS = 5.0
# An attempt that ends this close to its deadline used all of it (a socket timeout set to the
# time remaining, a lookup abandoned at the deadline): it counts as timed out.
TIMED_OUT_MARGIN = 0.05
BODY_LIMIT = 4096
USER_AGENT = "Paygate-Webhooks/1.0"


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the HTTP status (None when there was none) and the first bytes of
    the answer as text, or what went wrong."""

    status: int | None
    body: str
    timed_out: bool = False  # the attempt ran into its deadline (it held a worker 5 s)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deadline:
    """A wall-clock limit for one attempt. At the deadline every socket it watches is shut
    down (both ways), which makes any read or write blocked on it return at once.

    It keeps its own duplicate of each socket's descriptor, so it can never shut down an
    unrelated connection that reused a closed descriptor's number."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._finished = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        copy = sock.dup()
        with self._lock:
            self._sockets.append(copy)
            if self.expired:
                _shut(copy)

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def finish(self) -> None:
        """Disarm; the duplicates are closed (the connection itself stays the caller's)."""
        self._timer.cancel()
        with self._lock:
            self._finished = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc) -> None:
        self.finish()


def _shut(sock: socket.socket) -> None:
    # Not connected yet, or already gone: either way nothing will block on it.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """Mixin: hand each new socket to the attempt's deadline before anything is sent on it
    (the TLS handshake included)."""

    deadline: Deadline

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        self.deadline.watch(sock)
        return sock


class _HTTP(_Watched, HTTPConnection):
    pass


class _HTTPS(_Watched, HTTPSConnection):
    pass


_default_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    global _default_tls
    if _default_tls is None:
        _default_tls = ssl.create_default_context()  # CERT_REQUIRED, hostname checked
    return _default_tls


class PinnedTransport:
    """POSTs webhook bodies under the URL policy and the bounds above (thread-safe)."""

    def __init__(
        self,
        allow_private: bool,
        resolve: Resolver = socket.getaddrinfo,
        deadline_seconds: float = DEADLINE_SECONDS,
        body_limit: int = BODY_LIMIT,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.deadline_seconds = deadline_seconds
        self.body_limit = body_limit
        self.tls_context = tls_context

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """One attempt; never raises for anything the receiver or the network does."""
        with Deadline(self.deadline_seconds) as deadline:
            answer = self._post(deadline, url, body, headers)
            if deadline.expired or deadline.remaining() <= TIMED_OUT_MARGIN:
                return replace(answer, timed_out=True)
            return answer

    def _post(self, deadline: Deadline, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            target = parse_target(url)
            address = resolve_target(target, self.allow_private, self.resolve, deadline.remaining())
        except HostUnresolvable as exc:
            return Answer(None, f"ConnectionError: {exc.description}")
        except BadRequest as exc:
            return Answer(None, f"Refused by URL policy: {exc.description}")
        if target.scheme == "https":
            conn = _HTTPS(
                host=str(address),
                port=target.port,
                timeout=deadline.remaining(),
                server_hostname=target.tls_name,
                ssl_context=self.tls_context or _tls_context(),
            )
        else:
            conn = _HTTP(host=str(address), port=target.port, timeout=deadline.remaining())
        conn.deadline = deadline
        try:
            return self._exchange(conn, target.request_uri, body, headers, target.host_header)
        except (OSError, Urllib3Error, HTTPException, ValueError) as exc:
            if deadline.expired:
                return Answer(None, f"Timeout: no answer within {self.deadline_seconds:g} s")
            return Answer(None, _describe(exc))
        finally:
            deadline.finish()  # before closing: its duplicates must not outlive the attempt
            conn.close()

    def _exchange(
        self, conn: HTTPConnection, path: str, body: bytes, headers: dict, host: str
    ) -> Answer:
        conn.request(
            "POST",
            path,
            body=body,
            headers={
                **headers,
                "Host": host,
                "User-Agent": USER_AGENT,
                "Connection": "close",
                "Accept-Encoding": "identity",
            },
            preload_content=False,
            decode_content=False,
        )
        response = conn.getresponse()
        note = ""
        try:
            first = response.read(self.body_limit, decode_content=False)
        except (OSError, Urllib3Error, HTTPException) as exc:
            # The status is the answer (any 2xx is success); a body that breaks off only
            # loses its text.
            first, note = b"", f"\n[answer body unreadable: {type(exc).__name__}]"
        if conn.deadline.expired:
            note = f"\n[answer cut off at the {self.deadline_seconds:g} s deadline]"
        return Answer(response.status, first.decode("utf-8", errors="replace") + note)


def _describe(exc: Exception) -> str:
    kind = "ConnectionError"
    if isinstance(exc, ssl.SSLError):
        kind = "TLSError"
    elif not isinstance(exc, NewConnectionError) and isinstance(
        exc, TimeoutError | ConnectTimeoutError | ReadTimeoutError
    ):
        kind = "Timeout"
    return f"{kind}: {type(exc).__name__}: {exc}"[:BODY_LIMIT]
