"""The ports `make run` binds, checked free before anything starts (another `make run` on them
must not be mistaken for this one's parts) and again before a part is restarted on its port."""

from __future__ import annotations

import errno
import socket


class PortInUse(RuntimeError):
    """A port the runtime must bind is taken (or given to two parts)."""


def in_use(host: str, port: int) -> bool:
    """Whether binding `host`:`port` fails because something holds it. SO_REUSEADDR, as the
    servers bind: connections of a stopped run lingering in TIME_WAIT do not count."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def refuse_busy(host: str, ports: dict[str, int], part: str | None = None) -> None:
    """PortInUse naming the variable of the first port (variable → port) that is taken or given
    twice; `part` says who was about to bind it."""
    seen: dict[int, str] = {}
    for variable, port in ports.items():
        if port in seen:
            raise PortInUse(
                f"{seen[port]} and {variable} are both {port}: give each part a port of its own."
            )
        seen[port] = variable
    for variable, port in ports.items():
        if in_use(host, port):
            prefix = f"{part} exited and cannot start again: " if part else ""
            hint = (
                f" (to use an emulator already running there, set AWS_ENDPOINT=http://{host}:{port})"
                if variable == "EMULATOR_PORT"
                else ""
            )
            raise PortInUse(
                f"{prefix}port {port} ({variable}) is in use — is another `make run` up? "
                f"Stop it or set {variable}=<a free port>{hint}."
            )
