"""A fake Vertex AI: Gemini (`publishers/google/models/{m}:generateContent`,
`:streamGenerateContent?alt=sse`) and Anthropic (`publishers/anthropic/models/{m}:rawPredict`,
`:streamRawPredict`) under `/v1/projects/{p}/locations/{l}`, and an OAuth2 token endpoint.

`POST /token` is Google's JWT-bearer grant: the assertion must be an RS256 JWT signed with the
test service account's private key, issued by its email, for Google's token audience and the
cloud-platform scope; the answer is a fresh access token. The model routes accept only tokens
the endpoint issued (and not yet expired); any other bearer gets Google's 401 UNAUTHENTICATED.
Bodies are checked by the Gemini and Anthropic fakes' schemas; an Anthropic body must carry
`anthropic_version: vertex-2023-10-16` and no `model` (it is in the path).
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.gemini_server import ERROR_STATUSES, FakeGemini
from tests.fakes.upstream import FakeUpstream, Scenario

PROJECT = "routerx-test"
LOCATION = "us-central1"
CLIENT_EMAIL = "gateway@routerx-test.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ANTHROPIC_VERSION = "vertex-2023-10-16"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # whatever token URI is used


@functools.cache
def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem() -> str:
    return (
        _private_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def service_account_info(fake_url: str, key_id: str = "fake-key-id-1") -> dict[str, str]:
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": key_id,
        "private_key": private_key_pem(),
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": f"{fake_url}/token",
    }


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def is_anthropic(model: str | None) -> bool:
    return bool(model) and str(model).startswith("claude")


@dataclass
class FakeVertex(FakeUpstream):
    token_lifetime_s: int = 3600
    tokens: dict[str, float] = field(default_factory=dict)  # issued token -> expiry (time.time)
    token_requests: int = 0
    _gemini: FakeGemini = field(default_factory=FakeGemini)
    _anthropic: FakeAnthropic = field(default_factory=FakeAnthropic)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _last_model: str | None = None

    def reset(self) -> None:
        """Issued tokens stay valid until they expire, as Google's do."""
        super().reset()
        self.token_requests = 0
        self.token_lifetime_s = 3600

    def routes(self) -> list[web.RouteDef]:
        base = "/v1/projects/{project}/locations/{location}/publishers/{publisher}/models"
        return [
            web.post("/token", self.issue_token),
            web.post(base + "/{model}:{method}", self.handle),
        ]

    # --- the token endpoint ---------------------------------------------------------------

    async def issue_token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        problem = self._grant_problem(request, form.get("grant_type"), form.get("assertion"))
        if problem is not None:
            return web.json_response(
                {"error": "invalid_grant", "error_description": problem}, status=400
            )
        token = f"ya29.fake-token-{next(self._counter)}"
        self.tokens[token] = time.time() + self.token_lifetime_s
        return web.json_response(
            {"access_token": token, "expires_in": self.token_lifetime_s, "token_type": "Bearer"}
        )

    def _grant_problem(self, request: web.Request, grant: Any, assertion: Any) -> str | None:
        if grant != JWT_BEARER or not isinstance(assertion, str) or assertion.count(".") != 2:
            return "expected a JWT-bearer grant"
        head, payload, signature = assertion.split(".")
        try:
            _private_key().public_key().verify(
                _b64decode(signature),
                f"{head}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return "Invalid JWT Signature."
        header, claims = json.loads(_b64decode(head)), json.loads(_b64decode(payload))
        if header.get("alg") != "RS256":
            return "expected RS256"
        if claims.get("iss") != CLIENT_EMAIL or claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            return "Invalid JWT: iss or aud"
        if SCOPE not in str(claims.get("scope", "")).split():
            return "Invalid OAuth scope"
        if not claims.get("iat", 0) <= time.time() + 60 < claims.get("exp", 0) + 60:
            return "Invalid JWT: token must be a short-lived token and in a reasonable timeframe"
        return None

    # --- the model routes -----------------------------------------------------------------

    def key_of(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme == "Bearer" else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token = self.key_of(request)
        if token is None or self.tokens.get(token, 0) < time.time():
            return web.json_response(self._google_error(401), status=401)
        return await super().handle(request)

    def model_of(self, request: web.Request, body: Any) -> str | None:
        self._last_model = request.match_info.get("model")
        return self._last_model

    def _delegate(self, model: str | None) -> FakeUpstream:
        return self._anthropic if is_anthropic(model) else self._gemini

    def is_stream(self, request: web.Request, body: Any) -> bool:
        return request.match_info.get("method") in {"streamGenerateContent", "streamRawPredict"}

    def problem(self, request: web.Request, body: Any) -> str | None:
        info = request.match_info
        if (info["project"], info["location"]) != (PROJECT, LOCATION):
            return f"Project {info['project']} or location {info['location']} not found."
        method, publisher = info["method"], info["publisher"]
        if publisher == "anthropic":
            if method not in {"rawPredict", "streamRawPredict"}:
                return f"Unknown method {method} for Anthropic models."
            if not isinstance(body, dict) or body.get("anthropic_version") != ANTHROPIC_VERSION:
                return f"anthropic_version: expected {ANTHROPIC_VERSION}"
            if "model" in body:
                return "model: Extra inputs are not permitted"
            if bool(body.get("stream")) != (method == "streamRawPredict"):
                return "stream must be true exactly for streamRawPredict"
            rest = {k: v for k, v in body.items() if k != "anthropic_version"}
            return self._anthropic.problem(request, rest)
        if publisher != "google" or method not in {"generateContent", "streamGenerateContent"}:
            return f"Unknown publisher or method {publisher}:{method}."
        if method == "streamGenerateContent" and request.query.get("alt") != "sse":
            return "streamGenerateContent: this fake serves alt=sse only"
        return self._gemini.problem(request, body)

    def invalid_body(self, message: str) -> dict[str, Any]:
        return self._delegate(self._last_model).invalid_body(message)

    def answer(self, body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]:
        return self._delegate(model).answer(body, model, scenario)

    def stream_frames(self, body: Any, model: str | None, scenario: Scenario) -> list[bytes]:
        return self._delegate(model).stream_frames(body, model, scenario)

    @staticmethod
    def _google_error(status: int) -> dict[str, Any]:
        state = ERROR_STATUSES.get(status, "INTERNAL")
        return {"error": {"code": status, "message": f"Fake {state}.", "status": state}}

    def error_body(self, status: int) -> dict[str, Any]:
        if status in {401, 403, 429}:  # Google's front end answers these for both publishers
            return self._google_error(status)
        return self._delegate(self._last_model).error_body(status)

    def error_frame(self) -> bytes:
        return self._delegate(self._last_model).error_frame()
