"""Which address a sign-in is counted on: the socket's, or the console's word for its client."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request

from routerx.admin.client_address import CLIENT_ADDRESS_HEADER, client_address
from routerx.settings import Settings

SETTINGS = Settings()


def request_from(host: str, **headers: str) -> Request:
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "client": (host, 50000), "headers": raw})


def test_a_direct_caller_is_its_socket_address_whatever_it_claims() -> None:
    claims = {CLIENT_ADDRESS_HEADER: "198.51.100.1", "x-forwarded-for": "198.51.100.2"}
    assert client_address(request_from("203.0.113.9", **claims), SETTINGS) == "203.0.113.9"


def test_the_console_names_its_clients_address() -> None:
    console = request_from("127.0.0.1", **{CLIENT_ADDRESS_HEADER: "::ffff:198.51.100.7"})
    assert client_address(console, SETTINGS) == "198.51.100.7"
    # Without the header (or with garbage) the console's own address counts.
    assert client_address(request_from("127.0.0.1"), SETTINGS) == "127.0.0.1"
    garbage = request_from("127.0.0.1", **{CLIENT_ADDRESS_HEADER: "a, b"})
    assert client_address(garbage, SETTINGS) == "127.0.0.1"
    # X-Forwarded-For is never read, not even from the console.
    forwarded = request_from("127.0.0.1", **{"x-forwarded-for": "198.51.100.2"})
    assert client_address(forwarded, SETTINGS) == "127.0.0.1"


def test_trusted_proxies_may_be_networks() -> None:
    compose = replace(SETTINGS, trusted_proxies=frozenset({"172.28.0.0/16"}))
    inside = request_from("172.28.0.5", **{CLIENT_ADDRESS_HEADER: "192.0.2.4"})
    outside = request_from("172.29.0.5", **{CLIENT_ADDRESS_HEADER: "192.0.2.4"})
    assert client_address(inside, compose) == "192.0.2.4"
    assert client_address(outside, compose) == "172.29.0.5"
