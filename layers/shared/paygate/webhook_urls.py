"""Webhook URL policy: http(s) only; outside local and test mode no internal targets (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from paygate.errors import BadRequest

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}


def _internal(address: ipaddress._BaseAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address in METADATA_ADDRESSES
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: object, allow_internal: bool, resolve=socket.getaddrinfo) -> str:
    """The URL if it may receive webhooks; BadRequest with the reason otherwise."""
    if not isinstance(url, str) or len(url) > 2048:
        raise BadRequest("webhook_url must be a string of at most 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number in range
    except ValueError as exc:
        raise BadRequest("webhook_url must be an http or https URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("webhook_url must be an http or https URL")
    if allow_internal:
        return url
    host = parts.hostname
    try:
        literal = ipaddress.ip_address(host)
        addresses = [literal]
    except ValueError:
        try:
            infos = resolve(
                host,
                port or (443 if parts.scheme == "https" else 80),
                proto=socket.IPPROTO_TCP,
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise BadRequest("webhook_url host does not resolve") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses or any(_internal(a) for a in addresses):
        raise BadRequest(
            "webhook_url must not point to a private, loopback, link-local, "
            "multicast or metadata address"
        )
    return url
