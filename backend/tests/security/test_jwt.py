"""Admin session tokens against a real `routerx admin` process: every forgery is a 401.

Forgeries start from a real token the admin API issued (its header and claims as they are), so
they do not depend on how the claims are built: `alg: none`, another key, HS512 and HS384 with
the right key, RS256 with an attacker's key (also with that key embedded in the header), an
expired token, a tampered `sub` (viewer -> admin) keeping the original signature, a revoked
token (after logout and after refresh), a wrong `iss`, and malformed tokens. The same claims
re-signed correctly are accepted, so each refusal is for the reason it names. Both transports
(Bearer header and the session cookie) are checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

from tests.security.conftest import API, VIEWER_PASSWORD, Stack

ME = API + "/auth/me"
USERS = API + "/users"  # admin only
HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return unb64(header), unb64(payload), signature


def encode(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def hs_sign(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = encode(header, claims)
    mac = hmac.new(secret, signing_input.encode(), HASHES[header["alg"]]).digest()
    return f"{signing_input}.{b64(mac)}"


async def status_of(stack: Stack, token: str, path: str = ME) -> tuple[int, int]:
    """The status with the token as a Bearer header and as the session cookie."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(
            stack.admin.url + path, headers={"authorization": f"Bearer {token}"}
        ) as response:
            bearer = response.status
            if bearer == 401:
                body = await response.json()
                assert body["error"]["type"] == "authentication_error"
                assert set(body["error"]) == {"message", "type", "param", "code"}
        async with session.get(
            stack.admin.url + path, headers={"cookie": f"routerx_session={token}"}
        ) as response:
            cookie = response.status
    return bearer, cookie


@pytest.fixture(scope="module")
def attacker_key() -> RSAKey:
    return RSAKey.generate_key(2048)


def forgeries(
    stack: Stack, header: dict[str, Any], claims: dict[str, Any], signature: str, rsa: RSAKey
) -> dict[str, Callable[[], str]]:
    secret = stack.jwt_secret.encode()
    now = int(time.time())
    as_admin = {**claims, "sub": "admin"}

    def rs256(embed_key: bool) -> str:
        protected: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if embed_key:
            protected["jwk"] = rsa.as_dict(private=False)
        return jose_jwt.encode(protected, claims, rsa, ["RS256"])

    return {
        "alg none": lambda: encode({"alg": "none", "typ": "JWT"}, claims) + ".",
        "alg None with the old signature": lambda: (
            encode({"alg": "None", "typ": "JWT"}, claims) + "." + signature
        ),
        "alg none, viewer promoted": lambda: encode({"alg": "none"}, as_admin) + ".",
        "another key": lambda: hs_sign(header, claims, b"another-secret-" + b"x" * 32),
        "an empty key": lambda: hs_sign(header, claims, b""),
        "HS512 with the right key": lambda: hs_sign({**header, "alg": "HS512"}, claims, secret),
        "HS384 with the right key": lambda: hs_sign({**header, "alg": "HS384"}, claims, secret),
        "RS256 with an attacker's key": lambda: rs256(embed_key=False),
        "RS256 with the attacker's key in the header": lambda: rs256(embed_key=True),
        "expired an hour ago": lambda: hs_sign(
            header, {**claims, "iat": now - 7200, "exp": now - 3600}, secret
        ),
        "issued in the future": lambda: hs_sign(
            header, {**claims, "iat": now + 3600, "exp": now + 7200}, secret
        ),
        "tampered sub, original signature": lambda: encode(header, as_admin) + "." + signature,
        "wrong iss": lambda: hs_sign(header, {**claims, "iss": "someone-else"}, secret),
        "no iss": lambda: hs_sign(header, {k: v for k, v in claims.items() if k != "iss"}, secret),
        "no exp": lambda: hs_sign(header, {k: v for k, v in claims.items() if k != "exp"}, secret),
        "unknown user": lambda: hs_sign(header, {**claims, "sub": "ghost"}, secret),
        "kid path traversal, empty key": lambda: hs_sign(
            {**header, "kid": "../../../../dev/null"}, claims, b""
        ),
        "signature stripped": lambda: encode(header, claims) + ".",
        "four segments": lambda: hs_sign(header, claims, secret) + ".AAAA",
        "garbage": lambda: "not.a.token",
        "5 KB": lambda: "a" * 5000,
    }


async def test_forged_tokens_are_refused(stack: Stack, attacker_key: RSAKey) -> None:
    token = await stack.login("sec-viewer", VIEWER_PASSWORD)
    header, claims, signature = segments(token)
    assert header["alg"] == "HS256"
    # The control: these claims, correctly signed, are accepted; so each refusal below is for
    # the one thing its forgery changed.
    resigned = hs_sign(header, claims, stack.jwt_secret.encode())
    assert await status_of(stack, resigned) == (200, 200)
    assert await status_of(stack, resigned, USERS) == (403, 403)  # a viewer is not an admin
    refused = {}
    for name, forge in forgeries(stack, header, claims, signature, attacker_key).items():
        forged = forge()
        statuses = await status_of(stack, forged), await status_of(stack, forged, USERS)
        refused[name] = statuses
    assert refused == {name: ((401, 401), (401, 401)) for name in refused}


async def test_a_token_ends_with_logout_and_with_refresh(stack: Stack) -> None:
    token = await stack.login("sec-viewer", VIEWER_PASSWORD)
    assert await status_of(stack, token) == (200, 200)
    status, _ = await stack.admin_call("POST", "/auth/logout", token=token)
    assert status == 204
    assert await status_of(stack, token) == (401, 401)
    # the revoked token, re-signed with the right key (same jti): still revoked
    header, claims, _ = segments(token)
    assert await status_of(stack, hs_sign(header, claims, stack.jwt_secret.encode())) == (
        401,
        401,
    )
    rotated = await stack.login("sec-viewer", VIEWER_PASSWORD)
    status, fresh = await stack.admin_call("POST", "/auth/refresh", token=rotated)
    assert status == 200
    assert await status_of(stack, rotated) == (401, 401)
    assert await status_of(stack, fresh["token"]) == (200, 200)


async def test_anonymous_calls_are_refused_on_every_non_public_get(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(stack.admin.url + "/openapi.json") as response:
            document = await response.json()
        public = {"/healthz", "/openapi.json"}
        checked = 0
        for path, methods in document["paths"].items():
            if "get" not in methods or path in public:
                continue
            concrete = path.replace("{request_id}", "req-x")
            for name in ("tenant_id", "key_id", "provider_id", "rule_id", "user_id"):
                concrete = concrete.replace("{" + name + "}", "1")
            async with session.get(stack.admin.url + concrete) as response:
                assert response.status == 401, (path, response.status)
            checked += 1
    assert checked >= 15
