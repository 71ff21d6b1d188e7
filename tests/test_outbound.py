"""Where the Space may call a runner: refused addresses, checked after name resolution, through the real client.

Names are resolved through the guard's resolver seam (no hosts file): `runner.test` and friends map to
the addresses a test wants; `localhost` goes through the system's resolver. A refused connection never
reaches the fake server behind it (its request count stays 0).
"""
from __future__ import annotations

import asyncio

import openai
import pytest

from judge.endpoint import Endpoint
from judge.outbound import AddressGuard, RefusedAddress, refusal, system_resolver
from tests.openai_server import OpenAIServer, Reply

NAMES = {"runner.test": ["127.0.0.1"], "private.test": ["10.1.2.3"], "metadata.test": ["169.254.169.254"],
         "aws6.test": ["fd00:ec2::254"], "mixed.test": ["93.184.216.34", "192.168.1.10"],
         "mapped.test": ["::ffff:127.0.0.1"], "cgnat.test": ["100.64.3.4"]}


async def resolve(host: str, port: int) -> list[str]:
    if host not in NAMES:
        raise OSError(f"unknown host {host}")
    return NAMES[host]


@pytest.mark.parametrize("address, private_allowed", [
    ("127.0.0.1", True), ("::1", True), ("10.0.0.7", True), ("172.16.5.4", True), ("192.168.1.1", True),
    ("fc00::1", True), ("100.64.1.1", True), ("::ffff:127.0.0.1", True),
    ("169.254.169.254", False), ("169.254.170.2", False), ("169.254.1.1", False), ("fe80::1", False),
    ("fd00:ec2::254", False), ("64:ff9b::a9fe:a9fe", False), ("::ffff:169.254.169.254", False),
    ("100.100.100.200", False), ("0.0.0.0", False), ("::", False), ("224.0.0.1", False), ("240.0.0.1", False),
    ("255.255.255.255", False),
])
def test_addresses_that_are_refused(address: str, private_allowed: bool) -> None:
    assert refusal(address, allow_private=False) is not None
    assert (refusal(address, allow_private=True) is None) == private_allowed


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(address, allow_private=False) is None


@pytest.mark.parametrize("url, allow_private, words", [
    ("http://api.example.org/v1", False, "https"),
    ("https://127.0.0.1/v1", False, "loopback"),
    ("https://[::1]:8000/v1", False, "loopback"),
    ("http://169.254.169.254/latest", True, "metadata"),
    ("https://metadata.google.internal/computeMetadata/v1", True, "metadata"),
    ("https://METADATA.google.internal./v1", True, "metadata"),
    ("file:///etc/passwd", True, "https"),
    ("https://10.0.0.1:99999/v1", True, "not a usable URL"),
])
def test_urls_refused_before_any_connection(url: str, allow_private: bool, words: str) -> None:
    with pytest.raises(RefusedAddress, match=words):
        AddressGuard(allow_private, resolve).check_url(url)


def ask(endpoint: Endpoint) -> str:
    async def call() -> str:
        async with endpoint.client() as client:
            reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            return reply.choices[0].message.content

    return asyncio.run(call())


@pytest.fixture(scope="module")
def server():
    with OpenAIServer(lambda request: Reply(content="Answer: A")) as running:
        yield running


def endpoint(server: OpenAIServer, host: str, guard: AddressGuard) -> Endpoint:
    port = server.base_url.rsplit(":", 1)[1].split("/")[0]
    return Endpoint(f"http://{host}:{port}/v1", "m", "sk-x", timeout=5, max_retries=0, guard=guard)


@pytest.mark.parametrize("host, allow_private, words", [
    ("127.0.0.1", False, "loopback"),            # loopback without the operator's allowance
    ("localhost", False, "loopback"),            # a name the system resolves to loopback
    ("runner.test", False, "loopback"),          # a name that resolves to loopback
    ("private.test", False, "private"),          # a name that resolves to a private network
    ("metadata.test", True, "metadata"),         # even with the allowance
    ("aws6.test", True, "metadata"),
    ("mixed.test", False, "192.168.1.10"),       # one private address among public ones refuses the name
    ("mapped.test", False, "loopback"),          # an IPv6-mapped loopback address
    ("cgnat.test", False, "CGNAT"),
    ("nowhere.test", True, "does not resolve"),
])
def test_a_connection_is_checked_after_resolution(server, host, allow_private, words) -> None:
    calls = server.calls
    resolver = system_resolver if host == "localhost" else resolve
    with pytest.raises(openai.APIConnectionError) as raised:
        ask(endpoint(server, host, AddressGuard(allow_private, resolver)))
    assert words in str(raised.value.__cause__) and server.calls == calls


def test_with_the_allowance_the_connection_goes_to_the_address_checked(server) -> None:
    """`runner.test` exists in no DNS: the request arrives only because the guard connected to the address it
    resolved and checked (127.0.0.1), with no second lookup that could answer otherwise."""
    calls = server.calls
    assert ask(endpoint(server, "runner.test", AddressGuard(True, resolve))) == "Answer: A"
    assert server.calls == calls + 1


def test_a_name_that_passes_the_url_check_is_refused_when_it_resolves_badly(server) -> None:
    """DNS rebinding: a name is harmless when the URL is checked and resolves to the metadata service when a
    connection is made (here its second one): every connection resolves and checks its own address."""
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    guard = AddressGuard(True, rebinding)
    guard.check_url("http://rebind.test/v1")  # nothing to see before connecting
    assert ask(endpoint(server, "rebind.test", guard)) == "Answer: A"
    calls = server.calls
    with pytest.raises(openai.APIConnectionError) as raised:
        ask(endpoint(server, "rebind.test", guard))  # a new client, a new connection, a new lookup
    assert "metadata" in str(raised.value.__cause__) and server.calls == calls


def test_environment_proxies_and_redirects_are_not_followed(server, monkeypatch) -> None:
    """A proxy would hide the address the guard checks: the guarded client ignores HTTP(S)_PROXY."""
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    client = AddressGuard(True, resolve).http_client()
    assert client.follow_redirects is False and client.trust_env is False
    assert ask(endpoint(server, "runner.test", AddressGuard(True, resolve))) == "Answer: A"
