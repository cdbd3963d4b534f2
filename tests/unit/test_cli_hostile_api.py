"""`paygate listen` and `paygate trigger` against a hostile or broken API (red team b10): real
local HTTP servers on free ports, the real command in a subprocess or in-process.

- a redirect never carries the merchant's key and secret anywhere: the command stops with one
  line naming the Location;
- an answer that is not the API's (HTML, JSON without `data`) is one clear line, no traceback;
- an API answering `has_more: true` forever gets a bounded number of requests per poll, and
  what was read is still forwarded.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from paygate_cli import main as cli
from paygate_cli.api import MAX_PAGES_PER_POLL

PAYGATE = Path(sys.executable).parent / "paygate"
SECRET = "SUPERSECRET_victim"


class Server:
    """A local HTTP server answering every request with `answer(path) -> (status, headers,
    body)`; keeps each request's path and headers."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.seen: list[tuple[str, dict]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.seen.append((self.path, dict(self.headers)))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, headers, body = owner.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815 - http.server names its handlers so

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made: list[Server] = []

    def make(answer) -> Server:
        made.append(Server(answer))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PAYGATE_API_KEY", "key_live_victim")
    monkeypatch.setenv("PAYGATE_API_SECRET", SECRET)
    return dict(os.environ)


def ok_json(body: dict):
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def collector(servers) -> Server:
    return servers(lambda path: ok_json({}))


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    return lines[0]


# ------------------------------------------------------------------ redirects
@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("command", ["listen", "trigger"])
def test_a_redirect_is_not_followed_and_carries_no_credentials(
    servers, env, capsys, status, command
):
    """b10 case 1: the API (or a proxy in front of it) redirects to another host."""
    thief = collector(servers)
    location = f"{thief.url('localhost')}/api/v1/events"
    redirector = servers(lambda path: (status, {"Location": location}, b""))
    receiver = collector(servers)
    args = ["--api-url", redirector.url()]
    if command == "listen":
        argv = ["listen", *args, "--forward-to", receiver.url() + "/hooks", "--interval", "0.1"]
    else:
        argv = ["trigger", "payment.success", *args]
    assert cli.main(argv) == 1
    line = one_line_error(capsys)
    assert location in line and "redirect" in line.lower()
    assert thief.seen == [] and receiver.seen == []
    assert len(redirector.seen) == 1  # gave up at once


# ------------------------------------------------------------------ unexpected answers
@pytest.mark.parametrize(
    "answer",
    [
        (200, {"Content-Type": "text/html"}, b"<html>Welcome to nginx</html>"),
        ok_json({}),
        ok_json({"data": "nope", "has_more": False}),
        ok_json({"data": [{"id": 5}], "has_more": False}),
        ok_json({"data": [], "has_more": "maybe"}),
        ok_json([1, 2]),
    ],
    ids=["html", "no-data", "data-not-a-list", "event-without-fields", "has-more-odd", "list"],
)
def test_an_answer_that_is_not_the_apis_is_one_clear_line(servers, env, capsys, answer):
    api = servers(lambda path: answer)
    receiver = collector(servers)
    argv = ["listen", "--api-url", api.url(), "--forward-to", receiver.url() + "/hooks"]
    assert cli.main(argv) == 1
    line = one_line_error(capsys)
    assert "unexpected answer" in line.lower() and "/api/v1/events" in line
    assert receiver.seen == []


@pytest.mark.parametrize("body", [{}, {"id": 7}, {"data": []}])
def test_trigger_reports_an_unexpected_answer_in_one_line(servers, env, capsys, body):
    api = servers(lambda path: ok_json(body))
    assert cli.main(["trigger", "payment.success", "--api-url", api.url()]) == 1
    line = one_line_error(capsys)
    assert "unexpected answer to /api/v1/" in line.lower()


def test_a_running_listener_reports_an_unexpected_answer_and_keeps_polling(servers, env):
    """Once started, a broken answer is reported (one line) and the next poll tries again."""
    answers = {"n": 0}

    def answer(path):
        answers["n"] += 1
        if answers["n"] <= 2:  # start: the newest event, then what came before it
            return ok_json({"data": [], "has_more": False, "limit": 100})
        return 200, {"Content-Type": "text/html"}, b"<html>gateway error</html>"

    api = servers(answer)
    receiver = collector(servers)
    out = _run_listen(api, receiver, env, seconds=2.0)
    assert "Traceback" not in out
    assert out.count("Cannot read events") == 1 and "unexpected answer" in out.lower()
    assert answers["n"] >= 4  # kept polling


# ------------------------------------------------------------------ endless has_more
def test_an_endless_has_more_is_read_a_bounded_number_of_pages_per_poll(servers, env):
    """b10 case 2: each page is a new event and `has_more` never ends."""
    count = {"n": 0}

    def endless(path):
        count["n"] += 1
        n = count["n"]
        event = {"id": f"evt_{n:016d}", "event": "payment.success", "timestamp": 1}
        event["created_at"] = f"2026-01-01T00:00:{n % 60:02d}.{n % 1000:03d}Z"
        event["payload"] = json.dumps({"id": event["id"], "event": "payment.success"})
        return ok_json({"data": [event], "has_more": True, "limit": 100})

    api = servers(endless)
    receiver = collector(servers)
    seconds, interval = 3.0, 0.5
    started = time.monotonic()
    out = _run_listen(api, receiver, env, seconds=seconds, interval=interval)
    elapsed = time.monotonic() - started
    polls = elapsed / interval + 2  # the start's two reads count as one poll at most
    assert "Traceback" not in out
    assert 0 < count["n"] <= polls * MAX_PAGES_PER_POLL, count["n"]
    assert count["n"] / elapsed < 200  # not thousands a second
    assert len(receiver.seen) > 0  # what was read is forwarded
    assert "has_more" in out


def _run_listen(api: Server, receiver: Server, env: dict, seconds: float, interval=0.2) -> str:
    argv = [
        str(PAYGATE),
        "listen",
        "--api-url",
        api.url(),
        "--forward-to",
        receiver.url() + "/hooks",
        "--interval",
        str(interval),
    ]
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    time.sleep(seconds)
    process.send_signal(signal.SIGTERM)
    try:
        out = process.communicate(timeout=10)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        out = process.communicate()[0]
    return out.decode(errors="replace")
