"""One webhook attempt against real sockets: the 5 s wall-clock deadline, the 4 KB read, TLS
pinned to the checked address with SNI and certificate checked on the name, no redirects."""

from __future__ import annotations

import datetime
import http.server
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.local.hostile_receivers import HostileReceiver
from infra.local.webhook_receiver import Receiver
from paygate.webhook_transport import PinnedTransport

BODY = b'{"id":"evt_1","event":"webhook.test"}'


def loopback(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
    """A resolver that sends every name to 127.0.0.1, and remembers what it was asked."""
    loopback.asked.append(host)
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]


loopback.asked = []


@pytest.fixture
def hostile():
    started = []

    def start(mode, **kwargs):
        receiver = HostileReceiver(mode, **kwargs).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def timed(transport, url):
    started = time.monotonic()
    answer = transport.post(url, BODY, {"Content-Type": "application/json"})
    return answer, time.monotonic() - started


def test_a_receiver_trickling_its_status_line_is_cut_off_at_the_deadline(hostile):
    receiver = hostile("trickle", interval=0.5)  # a whole answer would take ~22 s
    answer, elapsed = timed(PinnedTransport(allow_private=True), receiver.url)
    assert 4.9 <= elapsed < 5.5, elapsed
    assert answer.status is None and answer.body.startswith("Timeout"), answer
    assert receiver.bytes_sent < 15


def test_a_shorter_deadline_is_honoured_to_the_tenth_of_a_second(hostile):
    receiver = hostile("trickle", interval=0.2)
    answer, elapsed = timed(PinnedTransport(True, deadline_seconds=1.0), receiver.url)
    assert 0.95 <= elapsed < 1.3 and answer.status is None


def test_a_trickled_body_after_a_2xx_status_keeps_the_status(hostile):
    receiver = hostile("trickle-body", interval=0.5)
    answer, elapsed = timed(PinnedTransport(allow_private=True), receiver.url)
    assert 4.9 <= elapsed < 5.5, elapsed
    assert answer.status == 200 and answer.ok
    assert "cut off at the 5 s deadline" in answer.body


def test_a_silent_tls_server_is_cut_off_during_the_handshake(hostile):
    receiver = hostile("silent")
    url = f"https://hooks.paygate.test:{receiver.port}/webhooks"
    answer, elapsed = timed(PinnedTransport(True, resolve=loopback), url)
    assert 4.9 <= elapsed < 5.5, elapsed
    assert answer.status is None and answer.body.startswith("Timeout")
    assert receiver.connections == 1


def test_a_200_mb_answer_is_never_read_past_4_kb(hostile):
    receiver = hostile("huge", status=500)
    answer, elapsed = timed(PinnedTransport(allow_private=True), receiver.url)
    assert answer.status == 500
    assert len(answer.body.encode()) == 4096 and set(answer.body) == {"\0"}
    assert elapsed < 2, elapsed
    time.sleep(0.3)
    # what the receiver could push before we closed: socket buffers, not 200 MB
    assert receiver.bytes_sent < 20 * 1024 * 1024, receiver.bytes_sent
    assert receiver.closed_by_client == 1


def test_many_huge_answers_at_once_keep_memory_flat(hostile):
    import resource

    receiver = hostile("huge", status=200)
    transport = PinnedTransport(allow_private=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    threads = [
        threading.Thread(target=transport.post, args=(receiver.url, BODY, {})) for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 50, grown_mib  # ten 200 MB answers would be 2,000 MiB


def test_redirects_are_answers_not_followed():
    class Redirect(http.server.BaseHTTPRequestHandler):
        hits = []

        def do_POST(self):  # noqa: N802
            Redirect.hits.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = PinnedTransport(allow_private=True).post(
            f"http://127.0.0.1:{server.server_address[1]}/a?b=1", BODY, {}
        )
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status == 302 and not answer.ok
    assert Redirect.hits == ["/a?b=1"]


def test_headers_and_exact_body_reach_the_receiver():
    receiver = Receiver("whsec_unused").start()
    try:
        answer = PinnedTransport(True, resolve=loopback).post(
            f"http://Hooks.Paygate.Test:{receiver.port}/webhooks?x=1",
            BODY,
            {"Content-Type": "application/json", "X-Webhook-Signature": "abc"},
        )
    finally:
        receiver.stop()
    assert answer.status == 200 and answer.body == '{"received":true}'
    (delivery,) = receiver.deliveries
    assert delivery.body == BODY
    assert delivery.headers["host"] == f"hooks.paygate.test:{receiver.port}"
    assert delivery.headers["x-webhook-signature"] == "abc"
    assert delivery.headers["user-agent"].startswith("Paygate-Webhooks/")


# ------------------------------------------------------------------ TLS on the name
def _certificates(tmp_path, name: str):
    """A test CA, and a certificate it signed for `name`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Paygate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "c.pem", tmp_path / "k.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 whose certificate names `hooks.paygate.test`; it records
    the SNI name and the Host header of each request."""
    ca_file, cert_file, key_file = _certificates(tmp_path, "hooks.paygate.test")
    seen = {"sni": [], "host": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            seen["host"].append(self.headers["Host"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ssl.create_default_context(cafile=str(ca_file))
    yield server.server_address[1], client, seen
    server.shutdown()
    server.server_close()


def test_tls_connects_to_the_pinned_address_with_sni_and_certificate_on_the_name(tls_receiver):
    port, client_context, seen = tls_receiver
    loopback.asked.clear()
    transport = PinnedTransport(True, resolve=loopback, tls_context=client_context)
    answer = transport.post(f"https://hooks.paygate.test:{port}/webhooks", BODY, {})
    assert answer.status == 204, answer
    assert loopback.asked == ["hooks.paygate.test"]
    assert seen["sni"] == ["hooks.paygate.test"]
    assert seen["host"] == [f"hooks.paygate.test:{port}"]


def test_tls_refuses_a_certificate_for_another_name(tls_receiver):
    port, client_context, seen = tls_receiver
    transport = PinnedTransport(True, resolve=loopback, tls_context=client_context)
    answer = transport.post(f"https://other.paygate.test:{port}/webhooks", BODY, {})
    assert answer.status is None and answer.body.startswith("TLSError"), answer
    assert seen["host"] == []


def test_tls_refuses_an_untrusted_certificate(tls_receiver):
    port, _, seen = tls_receiver
    answer = PinnedTransport(True, resolve=loopback).post(
        f"https://hooks.paygate.test:{port}/webhooks", BODY, {}
    )
    assert answer.status is None and answer.body.startswith("TLSError"), answer
    assert seen["host"] == []
