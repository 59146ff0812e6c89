"""API keys: hostile Authorization headers are refused cleanly, and a key is only ever looked up
by its SHA-256 digest (so comparing keys leaks nothing about them through timing).

Headers go through a raw socket: SQL metacharacters, 10 KB keys, latin-1 and UTF-8 bytes, NUL,
CR/LF and folding attempts. Where the HTTP layer (hypercorn's h11) accepts the header, the
gateway answers 401 in OpenAI's shape; bytes HTTP itself forbids (NUL, a bare CR) are refused by
h11 with a bare 400 before the gateway sees them. Never a 500, never a 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
from tortoise import Tortoise

from routerx.auth import api_keys
from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.chat import ChatFront
from routerx.gateway.pipeline import Pipeline
from routerx.settings import Settings
from routerx.storage.snapshot_loader import load_snapshot
from tests.security import rawhttp
from tests.security.conftest import DEMO_KEY, Stack
from tests.support.database import connected

BODY = json.dumps(
    {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
).encode()
KEY = DEMO_KEY.encode()
REFUSED_401 = "401"
REFUSED_BY_HTTP = "http"  # h11 refuses the header itself: a bare 4xx, the gateway never runs
EITHER = "either"  # h11 versions differ: some unfold obs-fold (then 401), some refuse it

CASES: list[tuple[str, bytes, str]] = [
    # SQL and LIKE metacharacters: nothing here is ever a query parameter, let alone SQL
    ("sql tautology", b"Bearer ' OR '1'='1", REFUSED_401),
    ("sql comment after the key", b"Bearer " + KEY + b"' --", REFUSED_401),
    ("sql stacked query", b'Bearer "; DROP TABLE api_keys; --', REFUSED_401),
    ("like wildcard %", b"Bearer %", REFUSED_401),
    ("like wildcard _", b"Bearer " + KEY[:-1] + b"_", REFUSED_401),
    ("backslash", b"Bearer \\", REFUSED_401),
    ("json in the key", b'Bearer {"$ne": null}', REFUSED_401),
    # Length
    ("10 KB key", b"Bearer " + b"k" * 10_240, REFUSED_401),
    ("the key then 10 KB", b"Bearer " + KEY + b"x" * 10_240, REFUSED_401),
    ("the key, truncated", b"Bearer " + KEY[:-1], REFUSED_401),
    ("the key, one more character", b"Bearer " + KEY + b"7", REFUSED_401),
    ("the key in capitals", b"Bearer " + KEY.upper(), REFUSED_401),
    # Encodings: the key is ASCII; nothing is normalised into it
    ("latin-1 byte", b"Bearer d\xe9mo_key_fake_123456", REFUSED_401),
    ("latin-1 byte after the key", b"Bearer " + KEY + b"\xff", REFUSED_401),
    ("utf-8 multibyte", "Bearer démo_key_fake_123456".encode(), REFUSED_401),
    ("utf-8 emoji", "Bearer \U0001f511".encode(), REFUSED_401),
    (
        "fullwidth digits (NFKC folds them)",
        "Bearer demo_key_fake_\uff11\uff12\uff13\uff14\uff15\uff16".encode(),
        REFUSED_401,
    ),
    ("zero-width space in the key", "Bearer demo_key\u200b_fake_123456".encode(), REFUSED_401),
    ("overlong utf-8", b"Bearer demo_key_fake_123456\xc0\xae", REFUSED_401),
    # NUL, CR, LF: header injection and truncation attempts
    ("NUL after the key", b"Bearer " + KEY + b"\x00", REFUSED_BY_HTTP),
    ("NUL inside the key", b"Bearer demo_key\x00_fake_123456", REFUSED_BY_HTTP),
    ("bare CR", b"Bearer wrong\rAuthorization: Bearer " + KEY, REFUSED_BY_HTTP),
    ("CRLF, then the real key", b"Bearer wrong\r\nAuthorization: Bearer " + KEY, REFUSED_401),
    ("bare LF, then the real key", b"Bearer wrong\nAuthorization: Bearer " + KEY, REFUSED_401),
    ("folded header", b"Bearer wrong\r\n " + KEY, EITHER),
    ("folded after the key", b"Bearer " + KEY + b"\r\n\tx", EITHER),
    # Schemes
    ("basic", b"Basic " + b"ZGVtbzpkZW1v", REFUSED_401),
    ("no scheme", KEY, REFUSED_401),
    ("token scheme", b"Token " + KEY, REFUSED_401),
    ("bearer without a space", b"Bearer" + KEY, REFUSED_401),
    ("empty", b"", REFUSED_401),
]
ACCEPTED = [
    ("lowercase scheme", b"bearer " + KEY),
    ("extra spaces", b"Bearer   " + KEY + b"  "),
]


def assert_openai_401(response: rawhttp.RawResponse) -> None:
    assert response.status == 401, response
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == "invalid_api_key"
    assert DEMO_KEY not in response.body.decode("latin-1")


@pytest.mark.parametrize(("name", "authorization", "outcome"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/models"])
async def test_hostile_authorization_headers_are_refused(
    stack: Stack, name: str, authorization: bytes, outcome: str, path: str
) -> None:
    head = rawhttp.chat_request(authorization, BODY).replace(
        b"POST /v1/chat/completions", b"POST " + path.encode()
    )
    if path == "/v1/models":
        head = head.replace(b"POST ", b"GET ", 1)
    response = await rawhttp.request(stack.gateway.port, head, b"" if "models" in path else BODY)
    assert response.status != 500
    if outcome == REFUSED_401 or (outcome == EITHER and response.status == 401):
        assert_openai_401(response)
    else:
        assert response.status == 400, response  # h11's own refusal, before any routing


@pytest.mark.parametrize(("name", "authorization"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
async def test_the_real_key_is_accepted_so_the_refusals_prove_something(
    stack: Stack, name: str, authorization: bytes
) -> None:
    response = await rawhttp.request(
        stack.gateway.port, rawhttp.chat_request(authorization, BODY), BODY
    )
    assert response.status == 200, response


async def test_a_64_kb_header_is_refused_by_the_http_layer(stack: Stack) -> None:
    response = await rawhttp.request(
        stack.gateway.port, rawhttp.chat_request(b"Bearer " + b"k" * 65_536, BODY), BODY
    )
    assert response.status is None or 400 <= response.status < 500, response


class RecordingDict(dict[str, Any]):
    """A snapshot's key table that records every lookup the gateway makes."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.looked_up: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.looked_up.append(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.looked_up.append(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.looked_up.append(str(key))
        return super().__contains__(key)


@pytest.mark.parametrize("presented", [DEMO_KEY, "rx_wrong_key", "x" * 200, "' OR 1=1 --"])
def test_the_gateway_looks_keys_up_by_sha256_digest_only(presented: str) -> None:
    """The one comparison the gateway makes is a dict lookup on the SHA-256 digest of what was
    presented: timing then depends on the digest, which an attacker cannot steer towards a
    stored digest without already knowing a key. The plain key is never a lookup argument."""
    entry = SimpleNamespace(expires_at=None)  # a key with no expiry
    table = RecordingDict({hashlib.sha256(KEY).hexdigest(): entry})
    endpoint = Pipeline(
        SimpleNamespace(snapshot=SimpleNamespace(keys_by_digest=table)),  # type: ignore[arg-type]
        ChatFront(),
    )
    scope = {"headers": [(b"authorization", b"Bearer " + presented.encode())]}
    try:
        found = endpoint.authenticate(scope)
    except GatewayError as error:
        assert error.status == 401
        found = None
    assert table.looked_up == [hashlib.sha256(presented.encode()).hexdigest()]
    assert presented not in table.looked_up
    assert (found is entry) == (presented == DEMO_KEY)


def test_digest_helpers() -> None:
    """digest_key is plain SHA-256 (hex); digests_match, for any code that compares digests
    itself, is hmac.compare_digest (constant time)."""
    for key in (DEMO_KEY, "rx_" + "a" * 43, "é"):
        assert api_keys.digest_key(key) == hashlib.sha256(key.encode()).hexdigest()
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api_keys.hmac, "compare_digest", spy)
        assert api_keys.digests_match("ab", "ab") and not api_keys.digests_match("ab", "ac")
    assert calls == [(b"ab", b"ab"), (b"ab", b"ac")]


async def test_only_digests_are_stored_and_loaded(stack: Stack) -> None:
    """The api_keys table and the gateway's snapshot hold digests (64 hex digits) and display
    prefixes, never a whole key."""
    plain = [DEMO_KEY, *stack.keys.values()]
    async with connected(stack.database_url):
        _, rows = await Tortoise.get_connection("default").execute_query("SELECT * FROM api_keys")
        snapshot = await load_snapshot(Settings(database_url=stack.database_url))
    dump = repr([dict(row) for row in rows])
    for key in plain:
        assert key not in dump
    digests = {row["digest"] for row in rows}
    assert {hashlib.sha256(k.encode()).hexdigest() for k in plain} <= digests
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests)
    assert all(len(row["prefix"]) <= api_keys.DISPLAY_PREFIX_LENGTH for row in rows)
    assert set(snapshot.keys_by_digest) <= digests
    assert not set(snapshot.keys_by_digest) & set(plain)
