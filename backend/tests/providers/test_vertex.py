"""Vertex specifics beyond the conformance suite: OAuth2 tokens from a service-account key
(fetched once, refreshed in the background before expiry, checked by the fake), the two
publishers' paths and bodies, key files and configuration errors."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest

from routerx.providers.base import StreamStats
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.errors import UpstreamError
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from routerx.providers.vertex import auth
from routerx.providers.vertex.auth import REFRESH_MARGIN_S, TokenSource
from routerx.providers.vertex.provider import default_endpoint
from tests.fakes.upstream import Scenario
from tests.fakes.vertex_server import (
    ANTHROPIC_VERSION,
    LOCATION,
    PROJECT,
    FakeVertex,
    service_account_info,
)
from tests.providers import requests
from tests.providers.harness import Harness, build_harness, make_call, provider_config

DEADLINE_S = 5.0


def _unique_key(request: pytest.FixtureRequest) -> str:
    """A key id of its own, so that the test's token source is not shared with another's."""
    return f"key-{request.node.name}"


def _tokens(harness: Harness) -> TokenSource:
    """The harness's token source. Tokens are counted on it, not at the fake: another test's
    source may refresh in the background meanwhile."""
    tokens = getattr(harness.provider, "tokens", None)
    assert isinstance(tokens, TokenSource)
    return tokens


async def test_one_token_serves_many_requests(
    vertex_fake: FakeVertex, http_client: HttpClient, request: pytest.FixtureRequest
) -> None:
    harness = build_harness("vertex", vertex_fake, http_client, secret=_unique_key(request))
    for _ in range(3):
        await harness.complete(requests.text())

    assert _tokens(harness).refreshes == 1
    token = harness.sent.headers["Authorization"].removeprefix("Bearer ")
    assert token in vertex_fake.tokens


async def test_a_token_near_expiry_is_refreshed_without_holding_requests(
    vertex_fake: FakeVertex, http_client: HttpClient, request: pytest.FixtureRequest
) -> None:
    vertex_fake.token_lifetime_s = int(REFRESH_MARGIN_S) - 60  # valid, inside the margin
    harness = build_harness("vertex", vertex_fake, http_client, secret=_unique_key(request))
    await harness.complete(requests.text())
    first = harness.sent.headers["Authorization"]
    assert _tokens(harness).refreshes == 1

    await harness.complete(requests.text())  # still valid: sent with it, refresh started
    assert harness.sent.headers["Authorization"] == first
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while _tokens(harness).refreshes < 2 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert _tokens(harness).refreshes == 2

    await harness.complete(requests.text())
    assert harness.sent.headers["Authorization"] != first


async def test_an_unknown_bearer_is_refused_by_the_fake(
    vertex_fake: FakeVertex, http_client: HttpClient, request: pytest.FixtureRequest
) -> None:
    harness = build_harness("vertex", vertex_fake, http_client, secret=_unique_key(request))
    await harness.complete(requests.text())
    token = harness.sent.headers["Authorization"].removeprefix("Bearer ")
    del vertex_fake.tokens[token]  # as if Google had revoked it

    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())

    assert caught.value.status == 401


async def test_a_token_endpoint_refusal_is_a_failure_without_the_key(
    vertex_fake: FakeVertex, http_client: HttpClient
) -> None:
    info = service_account_info(vertex_fake.url, key_id="key-wrong-email")
    info["client_email"] = "someone-else@routerx-test.iam.gserviceaccount.com"
    config = dataclasses.replace(
        provider_config("vertex", vertex_fake.url), secret=json.dumps(info)
    )
    provider = build_provider(config, real_calls=True, http=http_client)

    with pytest.raises(UpstreamError) as caught:
        await provider.complete(make_call(requests.text()))

    assert caught.value.is_failure and caught.value.client_status == 502
    assert info["private_key"][40:80] not in str(caught.value)


async def test_gemini_and_anthropic_paths_and_bodies(
    vertex_fake: FakeVertex, http_client: HttpClient
) -> None:
    gemini = build_harness("vertex", vertex_fake, http_client)
    await gemini.provider.complete(make_call(requests.text(), "gemini-2.5-flash"))
    base = f"/v1/projects/{PROJECT}/locations/{LOCATION}/publishers"
    assert gemini.sent.path == f"{base}/google/models/gemini-2.5-flash:generateContent"

    claude = build_harness("vertex_anthropic", vertex_fake, http_client)
    stream = claude.provider.stream(
        make_call(requests.text(stream=True), "claude-sonnet-4@20250514"), StreamStats()
    )
    assert [chunk async for chunk in stream]
    sent = claude.sent
    assert sent.path == f"{base}/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"
    assert sent.body["anthropic_version"] == ANTHROPIC_VERSION
    assert "model" not in sent.body and sent.body["stream"] is True


async def test_a_mounted_key_file(
    vertex_fake: FakeVertex, http_client: HttpClient, tmp_path: Path
) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(service_account_info(vertex_fake.url, key_id="key-file-1")))
    harness = build_harness(
        "vertex",
        vertex_fake,
        http_client,
        secret=None,
        settings={"credentials_file": str(key_file)},
    )

    _, answer = await harness.complete(requests.text())

    assert answer.choices[0].message.content == Scenario().text


def test_configuration_errors_name_the_path(tmp_path: Path) -> None:
    http = HttpClient()
    no_project = provider_config("vertex", "http://127.0.0.1:1", settings={"project": ""})
    with pytest.raises(ProviderConfigError, match=r"settings.project: required for vertex"):
        build_provider(no_project, real_calls=True, http=http)
    not_json = dataclasses.replace(
        provider_config("vertex", "http://127.0.0.1:1"), secret="not-a-key"
    )
    with pytest.raises(ProviderConfigError, match=r"test-vertex.secret: expected a service"):
        build_provider(not_json, real_calls=True, http=http)
    missing = provider_config(
        "vertex",
        "http://127.0.0.1:1",
        secret=None,
        settings={"credentials_file": str(tmp_path / "absent.json")},
    )
    with pytest.raises(ProviderConfigError, match=r"credentials_file: cannot read"):
        build_provider(missing, real_calls=True, http=http)


async def test_application_default_credentials(
    vertex_fake: FakeVertex,
    http_client: HttpClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file = tmp_path / "adc.json"
    key_file.write_text(json.dumps(service_account_info(vertex_fake.url, key_id="key-adc-1")))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.setattr(auth, "_sources", {})  # no token source from an earlier test
    harness = build_harness("vertex", vertex_fake, http_client, secret=None)

    _, answer = await harness.complete(requests.text())

    assert answer.choices[0].message.content == Scenario().text
    assert _tokens(harness).refreshes == 1


def test_the_global_location_has_its_own_endpoint() -> None:
    assert default_endpoint("global") == "https://aiplatform.googleapis.com"
    assert default_endpoint("europe-west4") == "https://europe-west4-aiplatform.googleapis.com"
