"""Where the Space may send requests of its own accord: never to itself, its own network or a cloud's metadata.

The operator's runners are called by the server, so a runner's address is a way into whatever the server
can reach: a loopback admin port, a private network, the cloud metadata service that hands out
credentials (169.254.169.254, fd00:ec2::254, metadata.google.internal, ...). Checking a URL once is not
enough: a name can resolve to a public address when checked and to a private one when connected (DNS
rebinding). So `AddressGuard` checks at connection time: every connection resolves the host itself,
checks every address it got, and connects to the address it checked, never to a second lookup; TLS still
verifies the certificate of the name in the URL. Plain http and loopback or private addresses are allowed
only when the operator says so (a vLLM on the same machine or network); link-local, metadata, multicast
and reserved addresses never are. Proxies from the environment are not used (the guard checks the
address it connects to, which a proxy would hide), and redirects are not followed.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable
from urllib.parse import urlparse

import httpcore2
import httpx2

Resolver = Callable[[str, int], Awaitable[list[str]]]
ALLOW_PRIVATE_SETTING = "MEDCMR_RUNNERS_ALLOW_PRIVATE=1"
# Cloud instance metadata services: they hand out credentials to whoever asks from inside the machine.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.253", "fd00:ec2::254", "fd00:ec2::253", "100.100.100.200",
    "192.0.0.192"))
METADATA_NAMES = ("metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                  "instance-data.ec2.internal", "metadata.azure.internal", "metadata.tencentyun.com")
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # CGNAT, also used by overlay networks
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedAddress(ValueError):
    """An address (or URL) the Space will not send a request to; the message says which and why."""


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address):
    """The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, NAT64), which is where it really goes."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(text: str, allow_private: bool) -> str | None:
    """Why a request must not go to the IP address `text` (in words), or None when it may."""
    try:
        address = _embedded_ipv4(ipaddress.ip_address(text.split("%")[0]))
    except ValueError:
        return "not an IP address"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_loopback:
        return None if allow_private else f"a loopback address (allowed only with {ALLOW_PRIVATE_SETTING})"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_global:
        return None
    if allow_private and (address.is_private or address in SHARED_ADDRESS_SPACE):
        return None
    kind = "a shared (CGNAT) address" if address in SHARED_ADDRESS_SPACE else "a private address"
    return f"{kind} (allowed only with {ALLOW_PRIVATE_SETTING})"


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for `host` (what a connection would have used)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(sockaddr[0] for *_, sockaddr in found))


@dataclass(frozen=True)
class AddressGuard:
    """The rule for outbound requests: https to public addresses, or (with `allow_private`) also http and
    loopback, private and shared addresses. `resolve` is the name lookup (a seam for tests)."""

    allow_private: bool = False
    resolve: Resolver = system_resolver

    def check_url(self, url: str) -> None:
        """What can be known before connecting: the scheme, a metadata name, a literal address."""
        try:
            parsed = urlparse(url)
            parsed.port  # noqa: B018 - reading it checks its range
        except ValueError as error:
            raise RefusedAddress(f"{url!r} is not a usable URL ({error})") from None
        allowed = ("https", "http") if self.allow_private else ("https",)
        if parsed.scheme not in allowed or not parsed.hostname:
            raise RefusedAddress(f"the address must be https://host/... (plain http only with "
                                 f"{ALLOW_PRIVATE_SETTING}), not {parsed.scheme or 'no scheme'}://")
        self.check_name(parsed.hostname)
        try:
            ipaddress.ip_address(parsed.hostname.split("%")[0])
        except ValueError:
            return
        if why := refusal(parsed.hostname, self.allow_private):
            raise RefusedAddress(f"{parsed.hostname} is {why}")

    @staticmethod
    def check_name(host: str) -> None:
        name = host.lower().rstrip(".")
        if name in METADATA_NAMES or name.endswith(".metadata.google.internal"):
            raise RefusedAddress(f"{host} is a cloud metadata service")

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of `host` once every one of them is allowed; RefusedAddress naming the first that is not
        (a name that resolves to both a public and a private address is refused as a whole)."""
        self.check_name(host)
        try:
            found = [str(ipaddress.ip_address(host.split("%")[0]))]  # a literal address needs no lookup
        except ValueError:
            found = None
        try:
            found = found or await self.resolve(host, port)
        except OSError as error:
            raise RefusedAddress(f"{host} does not resolve ({error.strerror or error})") from None
        if not found:
            raise RefusedAddress(f"{host} does not resolve to any address")
        for address in found:
            if why := refusal(address, self.allow_private):
                raise RefusedAddress(f"{host} resolves to {address}, {why}")
        return found

    def http_client(self) -> httpx2.AsyncClient:
        """An HTTP client whose every connection goes through this guard (no proxies, no redirects)."""
        return httpx2.AsyncClient(transport=_GuardedTransport(_GuardedBackend(self)), trust_env=False,
                                  follow_redirects=False)


class _GuardedBackend(httpcore2.AsyncNetworkBackend):
    """Connects to the address the guard checked (resolution and connection cannot disagree)."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard
        self.inner = httpcore2.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable | None = None) -> httpcore2.AsyncNetworkStream:
        try:
            addresses = await self.guard.addresses(host, port)
        except RefusedAddress as refused:
            raise httpcore2.ConnectError(f"refused: {refused}") from None
        return await self.inner.connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                            socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable | None = None) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("refused: no Unix sockets for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _GuardedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport with its connection pool on the guarded backend (the pool is the one place httpx2
    takes a network backend; tests/test_outbound.py fails loudly if that ever changes)."""

    def __init__(self, backend: _GuardedBackend) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(ssl_context=httpx2.create_ssl_context(trust_env=False),
                                                   network_backend=backend, max_connections=32,
                                                   max_keepalive_connections=16, keepalive_expiry=5.0)
