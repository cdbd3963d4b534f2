"""Webhook URL policy (CONTRACT §8, SSRF): one parser, one resolution, global addresses only.

- The URL is parsed once, with urllib3's parser (the one the delivery connects with), and the
  delivery connects with the parts parsed here: no second parser can read `\\` or `@` otherwise.
- No user-info, backslashes, spaces, control characters or IPv6 zone ids; host names are IDNA
  2008 (urllib3 encodes them with the `idna` package) and IPv4 literals are four decimal numbers
  (`2130706433`, `0x7f.1` or `0177.0.0.1` are refused, not left to a resolver to interpret).
- The host is resolved once; unless private targets are allowed, every answer must be a global
  address (not loopback, private, CGNAT, link-local, metadata, multicast, reserved, nor the
  IPv4-mapped, 6to4 or NAT64 form of one), and the delivery connects to the address returned.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import idna
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from paygate.errors import BadRequest

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0
DEFAULT_PORTS = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list]

# Not global whatever the Python version says (older 3.11/3.12 releases call some of these
# global: cpython#113171), or not a place a webhook may go.
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # CGNAT: shared address space, often routes to internal workloads
        "192.0.0.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
# WHATWG URL: a host whose last label is a number is an IPv4 address, in whatever base.
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)", re.IGNORECASE)


class HostUnresolvable(BadRequest):
    """The host name has no address (or the resolver did not answer in time)."""


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook URL as the delivery uses it: what to resolve, where to connect, what to send."""

    scheme: str
    host: str  # ASCII (IDNA 2008), lower case, no trailing dot; an IP literal without brackets
    port: int
    request_uri: str  # path and query: the request line's target

    @property
    def literal(self) -> IPAddress | None:
        """The host as an address when the URL names one."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def host_header(self) -> str:
        """`Host` as a browser would send it: the name (IPv6 in brackets), port if not default."""
        literal = self.literal
        host = f"[{self.host}]" if literal is not None and literal.version == 6 else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def tls_name(self) -> str | None:
        """The name TLS sends (SNI) and checks the certificate against."""
        return self.host if self.scheme == "https" else None


URL_FIELD = "webhook_url"  # the field refusals name, unless check_url is told another


def _refuse(reason: str) -> BadRequest:
    return BadRequest(f"{URL_FIELD} {reason}")


def _authority(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _checked_host(raw: str) -> str:
    if raw.startswith("["):
        if "%" in raw:
            raise _refuse("must not carry an IPv6 zone id")
        try:
            return str(ipaddress.IPv6Address(raw[1:-1]))
        except ValueError as exc:
            raise _refuse("has an invalid IPv6 address") from exc
    host = raw[:-1] if raw.endswith(".") else raw  # `example.com.` is `example.com`
    labels = host.split(".")
    if not host or any(not label for label in labels):
        raise _refuse("has an empty host label")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError as exc:
            raise _refuse("must write an IPv4 address as four decimal numbers (a.b.c.d)") from exc
    for label in labels:
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError as exc:
                raise _refuse("has a host that is not valid IDNA 2008") from exc
    return host


def parse_target(url: object) -> WebhookTarget:
    """The target of a webhook URL (syntax only, nothing resolved); BadRequest with the reason."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise _refuse(f"must be a string of at most {MAX_URL_LENGTH} characters")
    if "\\" in url:
        raise _refuse("must not contain backslashes")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise _refuse("must not contain spaces or control characters")
    if "@" in _authority(url):
        raise _refuse("must not contain user info (user:password@)")
    try:
        parts = parse_url(url)
    except (LocationParseError, ValueError) as exc:
        raise _refuse("must be an http or https URL with a valid host") from exc
    if parts.scheme not in DEFAULT_PORTS or not parts.host:
        raise _refuse("must be an http or https URL")
    if parts.auth is not None:
        raise _refuse("must not contain user info (user:password@)")
    port = parts.port if parts.port is not None else DEFAULT_PORTS[parts.scheme]
    if not 0 < port < 65536:
        raise _refuse("has an invalid port")
    return WebhookTarget(parts.scheme, _checked_host(parts.host), port, parts.request_uri)


def refusal(address: IPAddress) -> str | None:
    """Why webhooks may not go to `address` (None when it is a global unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "scoped (zone id)"
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = refusal(embedded)
            return f"{reason} (IPv4 inside IPv6)" if reason else None
    if address in _METADATA:
        return "metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global or any(address in net for net in _REFUSED_NETWORKS):
        return "non-global"
    return None


class _Lookup:
    """One getaddrinfo in flight for a (resolver, host, port), on its own daemon thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.infos: list | None = None
        self.error: BaseException | None = None


_lookups: dict[tuple, _Lookup] = {}
_lookups_lock = threading.Lock()


def _run_lookup(key: tuple, lookup: _Lookup, resolve: Resolver, host: str, port: int) -> None:
    try:
        lookup.infos = resolve(host, port, type=socket.SOCK_STREAM)
    except BaseException as exc:  # handed to every waiting caller
        lookup.error = exc
    finally:
        with _lookups_lock:
            _lookups.pop(key, None)
        lookup.done.set()


def _lookup(target: WebhookTarget, resolve: Resolver, timeout: float) -> list[IPAddress]:
    # getaddrinfo cannot be interrupted: it runs on a thread of its own and the caller stops
    # waiting at its attempt's deadline. Callers for the same host while a lookup is in flight
    # wait on that one lookup, so a host whose name servers never answer holds one thread,
    # not a pool that every other host needs (a26); nothing is cached once it ends.
    key = (resolve, target.host, target.port)
    with _lookups_lock:
        lookup = _lookups.get(key)
        if lookup is None:
            lookup = _lookups[key] = _Lookup()
            threading.Thread(
                target=_run_lookup,
                args=(key, lookup, resolve, target.host, target.port),
                name="webhook-dns",
                daemon=True,
            ).start()
    if not lookup.done.wait(max(0.0, timeout)):
        raise HostUnresolvable("webhook_url host did not resolve in time")
    if isinstance(lookup.error, OSError | UnicodeError):
        raise HostUnresolvable("webhook_url host does not resolve") from lookup.error
    if lookup.error is not None:
        raise lookup.error
    found = []
    for family, _, _, _, sockaddr in lookup.infos or []:
        if family in (socket.AF_INET, socket.AF_INET6):
            found.append(ipaddress.ip_address(sockaddr[0]))
    return found


def resolve_target(
    target: WebhookTarget,
    allow_private: bool,
    resolve: Resolver = socket.getaddrinfo,
    timeout: float = RESOLVE_TIMEOUT_SECONDS,
) -> IPAddress:
    """The one address to connect to. The host is resolved once; unless `allow_private`, every
    address it resolves to must be global (BadRequest otherwise)."""
    literal = target.literal
    addresses = [literal] if literal is not None else _lookup(target, resolve, timeout)
    if not addresses:
        raise HostUnresolvable("webhook_url host does not resolve")
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason and literal is not None:
                raise _refuse(
                    f"must not point to a {reason} address; only public addresses receive webhooks"
                )
            if reason:
                # Neither the answers nor their kind: the merchant chose the name, and echoing
                # what it resolves to from inside would map the internal DNS for them.
                raise _refuse(
                    "host resolves to a non-public address; only public addresses receive webhooks"
                )
    return addresses[0]


def check_url(
    url: object,
    allow_private: bool,
    resolve: Resolver = socket.getaddrinfo,
    field: str = URL_FIELD,
) -> str:
    """`url` if it may receive webhooks (as saved by the merchant); BadRequest otherwise, naming
    the request's `field`.

    With private targets allowed the host is not resolved here (a local receiver may not be
    up yet); every delivery resolves and checks again anyway."""
    try:
        target = parse_target(url)
        if not allow_private:
            resolve_target(target, allow_private, resolve)
    except BadRequest as refused:
        if field == URL_FIELD:
            raise
        # the same kind of refusal (HostUnresolvable stays one), naming the caller's field
        raise type(refused)(field + refused.description.removeprefix(URL_FIELD)) from None
    return url  # type: ignore[return-value] - parse_target proved it is a str
