"""The API takes every request API Gateway takes, from the clients merchants use: chunked bodies
(Node's `http.request` without a Content-Length, curl), `Expect: 100-continue`, keep-alive
connections and HTTP/1.0."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import textwrap
from urllib.parse import urlsplit

import pytest

from tests.support.stack import TEST_KEY, TEST_SECRET

ORDER = b'{"amount": 50000, "receipt": "chunked"}'


def target(stack, path: str) -> tuple[str, int, str]:
    parts = urlsplit(stack.api)
    return parts.hostname, parts.port, parts.path.rstrip("/") + path


def request_head(method: str, path: str, host: str, version="HTTP/1.1", extra: str = "") -> bytes:
    return (
        f"{method} {path} {version}\r\nHost: {host}\r\nX-Api-Key: {TEST_KEY}\r\n"
        f"X-Api-Secret: {TEST_SECRET}\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


def chunked(body: bytes, sizes=(7, 5)) -> bytes:
    out, at = b"", 0
    for size in sizes:
        piece = body[at : at + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        at += size
    rest = body[at:]
    out += f"{len(rest):x};ext=1\r\n".encode() + rest + b"\r\n0\r\n\r\n"
    return out


def read_response(sock: socket.socket) -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.body = response.read()
    return response


def test_chunked_body_then_another_request_on_the_same_connection(stack):
    host, port, path = target(stack, "/api/v1/orders")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            request_head("POST", path, host, extra="Transfer-Encoding: chunked\r\n")
            + chunked(ORDER)
        )
        first = read_response(sock)
        assert first.status == 201, first.body
        order = json.loads(first.body)
        assert order["amount"] == 50000 and order["receipt"] == "chunked"
        # The connection is still usable: no leftover chunk bytes read as a request.
        sock.sendall(request_head("GET", f"{path}/{order['id']}", host))
        second = read_response(sock)
        assert second.status == 200 and json.loads(second.body)["id"] == order["id"]


def test_expect_100_continue(stack):
    host, port, path = target(stack, "/api/v1/orders")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            request_head(
                "POST",
                path,
                host,
                extra=f"Expect: 100-continue\r\nContent-Length: {len(ORDER)}\r\n",
            )
        )
        interim = sock.recv(64)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        sock.sendall(ORDER)
        response = read_response(sock)
        assert response.status == 201, response.body


def test_http_1_0_request_is_answered_and_closed(stack):
    host, port, path = target(stack, "/api/v1/orders")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            request_head("POST", path, host, "HTTP/1.0", f"Content-Length: {len(ORDER)}\r\n")
            + ORDER
        )
        data = b""
        while chunk := sock.recv(65536):  # the server closes an HTTP/1.0 connection
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"201", head
    assert json.loads(body)["amount"] == 50000


def test_a_broken_chunked_body_is_refused_with_a_400(stack):
    host, port, path = target(stack, "/api/v1/orders")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            request_head("POST", path, host, extra="Transfer-Encoding: chunked\r\n")
            + b"zz\r\n{}\r\n0\r\n\r\n"
        )
        response = read_response(sock)
    assert response.status == 400


def test_curl_chunked_post_then_a_get_on_the_kept_connection(stack):
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is not installed (apt-get install curl)")
    auth = ["-H", f"X-Api-Key: {TEST_KEY}", "-H", f"X-Api-Secret: {TEST_SECRET}"]
    out = subprocess.run(
        [
            curl,
            "-sv",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{num_connects}\\n",
            *auth,
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            ORDER.decode(),
            stack.api + "/api/v1/orders",
            "--next",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{num_connects}\\n",
            *auth,
            stack.api + "/api/v1/stats",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout.split() == ["201", "1", "200", "0"], (out.stdout, out.stderr[-2000:])


NODE_CLIENT = textwrap.dedent(
    """
    // Two POSTs over one keep-alive connection, each body written without a Content-Length:
    // Node sends them chunked, as merchants' scripts do.
    const http = require("http");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const [url, key, secret] = process.argv.slice(2);
    function post(body) {
      return new Promise((resolve, reject) => {
        const req = http.request(url, { method: "POST", agent, headers: {
          "Content-Type": "application/json", "X-Api-Key": key, "X-Api-Secret": secret } },
          (res) => {
            let data = "";
            res.on("data", (c) => (data += c));
            res.on("end", () => resolve({ status: res.statusCode, body: data,
                                          reused: req.reusedSocket }));
          });
        req.on("error", reject);
        req.write(body.slice(0, 5));
        req.end(body.slice(5));
      });
    }
    (async () => {
      const first = await post('{"amount": 50000, "receipt": "node-1"}');
      const second = await post('{"amount": 60000, "receipt": "node-2"}');
      console.log(JSON.stringify([first, second]));
      agent.destroy();
    })().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
    """
)


def test_node_http_request_without_content_length(stack, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (apt-get install nodejs)")
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT)
    out = subprocess.run(
        [node, str(script), stack.api + "/api/v1/orders", TEST_KEY, TEST_SECRET],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    first, second = json.loads(out.stdout)
    assert (first["status"], second["status"]) == (201, 201), out.stdout
    assert json.loads(first["body"])["receipt"] == "node-1"
    assert json.loads(second["body"])["amount"] == 60000
    assert second["reused"] is True  # the same connection carried both
