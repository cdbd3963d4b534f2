"""The webhook URL policy (SSRF): internal targets refused outside local and test mode."""

from __future__ import annotations

import socket

import pytest

from paygate.errors import BadRequest
from paygate.webhook_urls import check_url


def resolver(address: str):
    def resolve(host, port, proto=0):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, proto, "", (address, port))]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_internal_literal_addresses_are_refused(url):
    with pytest.raises(BadRequest):
        check_url(url, allow_internal=False)


def test_hostname_resolving_to_loopback_is_refused():
    with pytest.raises(BadRequest):
        check_url("https://innocent.example/hook", False, resolve=resolver("127.0.0.1"))
    with pytest.raises(BadRequest):
        check_url("http://localhost:9000/hook", allow_internal=False)


def test_public_targets_pass():
    assert check_url("https://shop.example/hook", False, resolve=resolver("93.184.216.34"))
    assert check_url("https://93.184.216.34/hook", allow_internal=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://shop.example/",
        "javascript:alert(1)",
        "shop.example",
        "http://",
        5,
        None,
        "http://" + "a" * 3000,
    ],
)
def test_only_http_urls(url):
    with pytest.raises(BadRequest):
        check_url(url, allow_internal=True)


def test_local_mode_allows_loopback():
    assert check_url("http://127.0.0.1:9000/hook", allow_internal=True)
