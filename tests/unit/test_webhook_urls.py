"""The webhook URL policy (SSRF), with a fake resolver: every known bypass is a case.

The same functions decide at save time (`check_url`) and at each send (`PinnedTransport`), so
each bypass is tried both ways; the transport's cases record where the socket would connect.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
import urllib3.util.connection

from paygate.errors import BadRequest
from paygate.webhook_transport import PinnedTransport
from paygate.webhook_urls import (
    HostUnresolvable,
    check_url,
    parse_target,
    refusal,
    resolve_target,
)

PUBLIC = "93.184.216.34"


class FakeResolver:
    """Answers each lookup from a script (one list of addresses per call) and counts calls."""

    def __init__(self, *answers: str | list[str]) -> None:
        self.answers = [[a] if isinstance(a, str) else a for a in answers]
        self.calls: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
        self.calls.append(host)
        addresses = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]


@pytest.fixture
def connects(monkeypatch):
    """Where the transport's sockets would connect (nothing leaves the machine)."""
    seen: list[tuple[str, int]] = []

    def fake_create_connection(address, *args, **kwargs):
        seen.append(address)
        raise ConnectionRefusedError("test: not connecting")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", fake_create_connection)
    return seen


def refused_at_save(url: str, resolver: FakeResolver | None = None) -> str:
    with pytest.raises(BadRequest) as refused:
        check_url(url, allow_private=False, resolve=resolver or FakeResolver(PUBLIC))
    return refused.value.description


def refused_at_send(url: str, resolver: FakeResolver, connects: list) -> str:
    answer = PinnedTransport(allow_private=False, resolve=resolver).post(url, b"{}", {})
    assert answer.status is None and answer.body.startswith("Refused by URL policy"), answer
    assert connects == [], "a refused URL must never be connected to"
    return answer.body


# ------------------------------------------------------------------ the bypasses of issue 12
def test_backslash_before_at_is_refused_not_read_as_another_host(connects):
    url = "http://127.0.0.1:18999\\@example.com/"
    resolver = FakeResolver(PUBLIC)
    assert "backslash" in refused_at_save(url, resolver)
    assert "backslash" in refused_at_send(url, resolver, connects)
    assert resolver.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@example.com/",
        "http://127.0.0.1:18999@example.com/",
        "http://example.com@127.0.0.1/",
        "http://@example.com/",
        "https://a%40b@example.com/hook",
    ],
)
def test_user_info_is_refused(url, connects):
    assert "user info" in refused_at_save(url)
    assert "user info" in refused_at_send(url, FakeResolver(PUBLIC), connects)


def test_an_at_sign_in_the_path_is_fine():
    target = parse_target("https://shop.example/hooks/a@b?x=@")
    assert (target.host, target.request_uri) == ("shop.example", "/hooks/a@b?x=@")


def test_idna_2008_name_is_resolved_and_connected_as_the_same_name(connects):
    """`faß` is `fass` in IDNA 2003 but `xn--fa-hia` in IDNA 2008: one encoding everywhere."""
    resolver = FakeResolver(PUBLIC)
    assert check_url("https://faß.attacker.com/", False, resolver) == "https://faß.attacker.com/"
    assert resolver.calls == ["xn--fa-hia.attacker.com"]
    target = parse_target("https://faß.attacker.com/")
    assert target.host == target.tls_name == target.host_header == "xn--fa-hia.attacker.com"
    send = FakeResolver(PUBLIC)
    PinnedTransport(allow_private=False, resolve=send).post("https://faß.attacker.com/", b"", {})
    assert send.calls == ["xn--fa-hia.attacker.com"] and connects == [(PUBLIC, 443)]


def test_invalid_idna_is_refused():
    for url in ("http://xn--zz.example/", "http://ＥＸＡＭＰＬＥ.com/"):
        refused_at_save(url)


def test_dns_rebinding_resolves_once_and_connects_to_the_checked_address(connects):
    """A name that answers public first and loopback next: checked and connected as public."""
    resolver = FakeResolver(PUBLIC, "127.0.0.1")
    answer = PinnedTransport(allow_private=False, resolve=resolver).post(
        "http://rebind.attacker.com:8080/hook", b"{}", {}
    )
    assert resolver.calls == ["rebind.attacker.com"]
    assert connects == [(PUBLIC, 8080)]
    assert answer.status is None and "ConnectionError" in answer.body


def test_dns_rebinding_to_loopback_on_the_lookup_used_is_refused(connects):
    resolver = FakeResolver("127.0.0.1", PUBLIC)
    refused_at_send("http://rebind.attacker.com/", resolver, connects)
    assert resolver.calls == ["rebind.attacker.com"]


def test_any_internal_answer_among_several_is_refused(connects):
    refused_at_save("http://mixed.example/", FakeResolver([PUBLIC, "10.0.0.7"]))
    refused_at_send("http://mixed.example/", FakeResolver([PUBLIC, "10.0.0.7"]), connects)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "100.127.255.254",
        "169.254.169.254",  # cloud metadata
        "169.254.1.1",
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.0.170",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # metadata over IPv6
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::1",
        "2001:db8::1",
        "2001::1",  # Teredo
    ],
)
def test_non_global_addresses_are_refused_as_literals_and_as_answers(address, connects):
    assert refusal(ipaddress.ip_address(address)), address
    literal = f"[{address}]" if ":" in address else address
    refused_at_save(f"http://{literal}/hook")
    refused_at_save("https://innocent.example/hook", FakeResolver(address))
    refused_at_send("https://innocent.example/hook", FakeResolver(address), connects)


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC,
        "8.8.8.8",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "2002:0808:0808::1",
        "64:ff9b::808:808",
    ],
)
def test_global_addresses_pass(address):
    assert refusal(ipaddress.ip_address(address)) is None
    assert check_url("https://shop.example/hook", False, FakeResolver(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # decimal 127.0.0.1
        "http://0x7f000001/",  # hex
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",  # octal
        "http://127.000.000.001/",
        "http://127.1/",
        "http://1.2.3.4.5/",
        "http://017700000001/",
    ],
)
def test_ipv4_in_other_bases_or_short_forms_is_refused_before_any_lookup(url, connects):
    resolver = FakeResolver(PUBLIC)
    assert "four decimal numbers" in refused_at_save(url, resolver)
    assert "four decimal numbers" in refused_at_send(url, resolver, connects)
    assert resolver.calls == []


@pytest.mark.parametrize(
    "url", ["http://[fe80::1%25eth0]/", "http://[fe80::1%eth0]:80/", "http://[2606:4700::1%251]/"]
)
def test_ipv6_zone_ids_are_refused(url):
    refused_at_save(url)
    with pytest.raises(BadRequest):
        parse_target(url)


def test_a_resolver_answering_a_scoped_address_is_refused():
    refused_at_save("http://scoped.example/", FakeResolver("fe80::1%2"))


def test_trailing_dots(connects):
    assert parse_target("http://127.0.0.1./").host == "127.0.0.1"
    refused_at_save("http://127.0.0.1./")
    refused_at_save("http://localhost./", FakeResolver("127.0.0.1"))
    refused_at_save("http://shop.example../")
    target = parse_target("https://Shop.Example./hook")
    assert (target.host, target.host_header) == ("shop.example", "shop.example")
    resolver = FakeResolver(PUBLIC)
    PinnedTransport(allow_private=False, resolve=resolver).post("https://shop.example./", b"", {})
    assert resolver.calls == ["shop.example"] and connects == [(PUBLIC, 443)]


def test_percent_encoded_host_is_decoded_before_the_check():
    resolver = FakeResolver("127.0.0.1")
    refused_at_save("http://ex%61mple.com/", resolver)
    assert resolver.calls == ["example.com"]


def test_unresolvable_host_is_refused_at_save_and_a_failed_attempt_at_send(connects):
    refused_at_save("https://nowhere.example/", FakeResolver([]))
    answer = PinnedTransport(False, resolve=FakeResolver([])).post(
        "https://nowhere.example/", b"", {}
    )
    assert answer.status is None and "does not resolve" in answer.body and connects == []


def test_a_refusal_names_the_callers_field_and_keeps_its_kind():
    with pytest.raises(HostUnresolvable) as refused:
        check_url("https://nowhere.example/", False, FakeResolver([]), field="url")
    assert refused.value.description == "url host does not resolve"
    with pytest.raises(BadRequest, match="^url must not contain user info"):
        check_url("https://a@shop.example/", False, FakeResolver(PUBLIC), field="url")


# ------------------------------------------------------------------ syntax and allowance
@pytest.mark.parametrize(
    "url",
    [
        "ftp://shop.example/",
        "javascript:alert(1)",
        "shop.example",
        "//shop.example/x",
        "http://",
        "http:///x",
        "http://shop.example:0/",
        "http://shop.example:99999/",
        "http://shop.example:x/",
        "http://exa mple.com/",
        "http://shop.example/\nx",
        "http://shop.example/\tx",
        "",
        5,
        None,
        "http://" + "a" * 3000,
    ],
)
def test_only_well_formed_http_urls(url):
    with pytest.raises(BadRequest):
        check_url(url, allow_private=True)


def test_private_targets_allowed_still_parse_strictly_but_skip_the_address_check():
    assert check_url("http://127.0.0.1:9000/hook", allow_private=True)
    assert check_url("http://localhost:9000/hook", allow_private=True)
    for url in ("http://127.0.0.1:1\\@example.com/", "http://u@127.0.0.1/", "http://0x7f.1/"):
        with pytest.raises(BadRequest):
            check_url(url, allow_private=True)
    target = parse_target("http://localhost:9000/hook")
    assert str(resolve_target(target, True, FakeResolver("127.0.0.1"))) == "127.0.0.1"


def test_target_parts():
    target = parse_target("HTTPS://Shop.Example:8443/p/a%20th?q=1&r=%2F#frag")
    assert target.scheme == "https" and target.port == 8443
    assert target.request_uri == "/p/a%20th?q=1&r=%2F"
    assert target.host_header == "shop.example:8443" and target.tls_name == "shop.example"
    v6 = parse_target("http://[2606:4700::1111]/")
    assert v6.host == "2606:4700::1111" and v6.host_header == "[2606:4700::1111]"
    assert parse_target("http://shop.example").request_uri == "/"


# ------------------------------------------------------------ resolution without a shared pool
class HangingResolver:
    """Names under `.slow-dns.example` hang until released (a name server that never answers);
    every other name resolves at once. Counts the lookups started per host."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()
        self.started: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, host, port, type=0):
        with self._lock:
            self.started[host] = self.started.get(host, 0) + 1
        if host.endswith(".slow-dns.example"):
            self.release.wait(30)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]


def _resolve_in_threads(targets, resolver, timeout):
    import threading
    import time

    outcomes: list[tuple[str, float]] = []
    lock = threading.Lock()

    def one(target):
        started = time.monotonic()
        try:
            resolve_target(target, False, resolver, timeout)
            outcome = "resolved"
        except BadRequest as exc:
            outcome = exc.description
        with lock:
            outcomes.append((outcome, time.monotonic() - started))

    threads = [threading.Thread(target=one, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_hanging_lookups_of_one_host_do_not_delay_another_hosts_resolution():
    """a26: 8 (then 40) hanging lookups used to fill the shared 8-thread pool, and every other
    merchant's delivery failed with 'did not resolve in time'."""
    import time

    resolver = HangingResolver()
    hostile = [parse_target(f"https://h{i % 8}.slow-dns.example/hook") for i in range(40)]
    threads, outcomes = _resolve_in_threads(hostile, resolver, timeout=1.0)
    try:
        time.sleep(0.2)
        victim = parse_target("https://victim-merchant.example/webhooks")
        started = time.monotonic()
        assert str(resolve_target(victim, False, resolver, 5.0)) == "93.184.215.14"
        assert time.monotonic() - started < 0.5
        for thread in threads:
            thread.join(5)
        # each hanging lookup was cut at its caller's own deadline
        assert len(outcomes) == 40
        assert all(o == "webhook_url host did not resolve in time" for o, _ in outcomes), outcomes
        assert all(0.9 <= took < 2.0 for _, took in outcomes), outcomes
        # one lookup per hanging host at a time, however many attempts wait on it
        assert all(resolver.started[f"h{i}.slow-dns.example"] == 1 for i in range(8))
    finally:
        resolver.release.set()


def test_a_hung_host_is_looked_up_again_once_its_lookup_ends():
    import time

    resolver = HangingResolver()
    target = parse_target("https://a.slow-dns.example/hook")
    with pytest.raises(BadRequest, match="did not resolve in time"):
        resolve_target(target, False, resolver, 0.2)
    resolver.release.set()
    time.sleep(0.1)
    assert str(resolve_target(target, False, resolver, 1.0)) == "93.184.215.14"
    assert resolver.started["a.slow-dns.example"] == 2  # a fresh lookup: nothing cached


def test_a_resolver_error_is_reported_to_every_caller_waiting_on_the_lookup():
    def failing(host, port, type=0):
        raise socket.gaierror("no such name")

    with pytest.raises(BadRequest, match="does not resolve"):
        resolve_target(parse_target("https://gone.example/"), False, failing, 1.0)


# ------------------------------------------------------------------ what a refusal tells
@pytest.mark.parametrize(
    "answers", [["10.1.2.3"], ["127.0.0.1"], ["169.254.169.254"], [PUBLIC, "fd00:ec2::254"]]
)
def test_a_refusal_says_why_without_revealing_what_the_host_resolves_to(answers, connects):
    """The merchant chose the name, not the answers: echoing them would map internal DNS."""
    for told in (
        refused_at_save("https://internal.example/hook", FakeResolver(answers)),
        refused_at_send("https://internal.example/hook", FakeResolver(answers), connects),
    ):
        assert "non-public address" in told, told
        for address in answers + ["loopback", "private", "metadata", "link-local"]:
            assert address not in told, told


def test_a_literal_address_is_refused_with_its_kind():
    told = refused_at_save("http://169.254.169.254/latest/meta-data/")
    assert "metadata" in told and "only public addresses" in told, told
