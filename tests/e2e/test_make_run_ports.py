"""`make run` / `make run-stack` on a port that is already taken (another `make run` up, say):
they refuse before starting or deploying anything, with one clear line naming the port and its
variable, and a part whose port is taken while it is down does not restart for ever."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.stack import REPO, Run, free_port, listening

PORT_VARIABLES = ("API_PORT", "CHECKOUT_PORT", "DASHBOARD_PORT", "EMULATOR_PORT")


class _Occupant(BaseHTTPRequestHandler):
    """Answers every request with 200, as another stack's emulator or API would (a runtime that
    probes the port sees someone healthy there), and records what it was asked."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append(f"GET {self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


def _occupy(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Occupant)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _in_session(sid: int) -> list[str]:
    """Command lines of the processes still alive in session `sid` (zombies aside)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_refuses_a_port_in_use_before_starting_anything(stack_mode, tmp_path):
    ports = {name: free_port() for name in PORT_VARIABLES}
    for variable in PORT_VARIABLES:
        if stack_mode == "stack" and variable == "API_PORT":
            continue  # make run-stack binds no API_PORT: API Gateway answers in the emulator
        busy = ports[variable]
        occupant = _occupy(busy)
        try:
            env = {**os.environ, **{k: str(v) for k, v in ports.items()}}
            env.update({"STACK_NAME": "paygate-ports", "EMULATOR_STATE_DIR": str(tmp_path)})
            env.pop("AWS_ENDPOINT", None)
            env.pop("AWS_ENDPOINT_URL", None)
            target = "run" if stack_mode == "local" else "run-stack"
            process = subprocess.Popen(
                ["make", "-s", target],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            try:
                output, _ = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGINT)
                output, _ = process.communicate(timeout=90)
                pytest.fail(f"{variable} busy: still running after 30 s\n{output}")
            left = _in_session(process.pid)
            others = [p for name, p in ports.items() if name != variable]
            answering = [p for p in others if listening(p)]
            assert process.returncode != 0, output
            assert f"port {busy} ({variable}) is in use" in output, output
            assert f"{variable}=" in output, output  # says how to choose another port
            assert "Traceback" not in output, output
            assert "Paygate is up" not in output, output
            assert occupant.requests == [], occupant.requests  # nothing probed or deployed
            assert left == [], left
            assert answering == [], answering
            assert not list(tmp_path.iterdir())  # no emulator state written
        finally:
            occupant.shutdown()
            occupant.server_close()


def test_the_same_port_given_twice_is_refused(tmp_path):
    port = free_port()
    env = {**os.environ, "API_PORT": str(port), "CHECKOUT_PORT": str(port)}
    env.update({"DASHBOARD_PORT": str(free_port()), "EMULATOR_PORT": str(free_port())})
    env.update({"EMULATOR_STATE_DIR": str(tmp_path)})
    env.pop("AWS_ENDPOINT", None)
    done = subprocess.run(
        ["make", "-s", "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert f"API_PORT and CHECKOUT_PORT are both {port}" in output, output
    assert "Traceback" not in output and "Paygate is up" not in output, output


def _dashboard_server(sid: int, port: int) -> int:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            sid_of = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3])
        except (OSError, IndexError, ValueError):
            continue
        if sid_of == sid and b"infra.local.static_server" in cmdline and b"dashboard" in cmdline:
            assert str(port).encode() in cmdline
            return int(proc.name)
    raise AssertionError("no dashboard server in the runtime's session")


def test_a_part_whose_port_is_taken_while_it_is_down_stops_everything(stack_mode, tmp_path):
    run = Run(stack_mode, tmp_path / "state")
    sid = run.process.pid
    intruder = None
    try:
        assert "Paygate is up" in run.wait_up()
        port = run.ports["DASHBOARD_PORT"]
        dashboard = _dashboard_server(sid, port)
        # The supervisor holds still while the dashboard dies and someone else takes its port,
        # so it finds the port taken when it comes to restart the dashboard.
        os.kill(run.process.pid, signal.SIGSTOP)
        try:
            os.kill(dashboard, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while intruder is None:
                try:
                    intruder = socket.create_server(("127.0.0.1", port))
                except OSError:
                    assert time.monotonic() < deadline, "the dashboard's port never came free"
                    time.sleep(0.05)
        finally:
            os.kill(run.process.pid, signal.SIGCONT)
        try:
            run.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail("still running with its dashboard port taken:\n" + run.ctrl_c())
        output = "".join(run.lines) + run.process.stdout.read()
        assert run.process.returncode != 0, output
        assert f"port {port} (DASHBOARD_PORT) is in use" in output, output
        assert "dashboard" in output.split(f"port {port} (DASHBOARD_PORT)")[0].splitlines()[-1]
        assert "Traceback" not in output, output
        assert "Paygate stopped." in output, output
        time.sleep(0.5)
        assert _in_session(sid) == []
        assert not any(listening(p) for name, p in run.ports.items() if name != "DASHBOARD_PORT")
    finally:
        if run.process.poll() is None:
            run.ctrl_c()
        if intruder is not None:
            intruder.close()
