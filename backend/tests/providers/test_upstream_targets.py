"""Where adapters send requests and with which credentials: only what the server configured."""

from __future__ import annotations

import dataclasses

import pytest

from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import FakeUpstream
from tests.providers import requests
from tests.providers.harness import (
    ADAPTERS,
    SECRET,
    build_harness,
    provider_config,
)

REDIRECTING_FIELDS = ("api_base", "base_url", "azure_endpoint")


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_request_fields_cannot_choose_the_upstream(
    adapter: str, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    fake = fakes[adapter]
    # Another live server the client would like RouterX to call instead.
    decoy = fakes["anthropic" if isinstance(fake, FakeOpenAI) else "openai"]
    harness = build_harness(adapter, fake, http_client)
    raw = requests.text(
        **{name: f"{decoy.url}/v1" for name in REDIRECTING_FIELDS},
        api_key="sk-client-supplied",
        extra_headers={"authorization": "Bearer sk-client-supplied"},
    )

    await harness.complete(raw)

    assert decoy.requests == []
    assert len(fake.requests) == 1
    sent = harness.sent
    for name in (*REDIRECTING_FIELDS, "api_key", "extra_headers"):
        assert name not in sent.body
    assert "sk-client-supplied" not in str(sent.headers)


@pytest.mark.parametrize(
    ("adapter", "expected", "absent"),
    [
        ("openai", {"authorization": f"Bearer {SECRET}"}, ("api-key",)),
        ("openai_compatible", {"authorization": f"Bearer {SECRET}"}, ("api-key",)),
        ("azure", {"api-key": SECRET}, ("authorization",)),
        (
            "anthropic",
            {"x-api-key": SECRET, "anthropic-version": "2023-06-01"},
            ("authorization",),
        ),
        ("gemini", {"x-goog-api-key": SECRET}, ("authorization",)),
    ],
)
async def test_credentials_travel_in_the_providers_header(
    adapter: str,
    expected: dict[str, str],
    absent: tuple[str, ...],
    fakes: dict[str, FakeUpstream],
    http_client: HttpClient,
) -> None:
    harness = build_harness(adapter, fakes[adapter], http_client)

    await harness.complete(requests.text())

    headers = {k.lower(): v for k, v in harness.sent.headers.items()}
    assert {k: headers.get(k) for k in expected} == expected
    assert all(name not in headers for name in absent)
    assert SECRET not in harness.sent.path and SECRET not in str(harness.sent.query)


async def test_openai_compatible_without_a_key_sends_no_authorization(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    harness = build_harness("openai_compatible", openai_fake, http_client, secret=None)

    await harness.complete(requests.text())

    assert "authorization" not in {k.lower() for k in harness.sent.headers}


async def test_azure_api_version_from_settings(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    harness = build_harness(
        "azure", openai_fake, http_client, settings={"api_version": "2025-01-01-preview"}
    )

    await harness.complete(requests.text())

    assert harness.sent.path == "/openai/deployments/fake-model-1/chat/completions"
    assert harness.sent.query == {"api-version": "2025-01-01-preview"}


async def test_anthropic_base_url_may_end_in_v1(
    anthropic_fake: FakeAnthropic, http_client: HttpClient
) -> None:
    config = provider_config("anthropic", f"{anthropic_fake.url}/v1")
    provider = build_provider(config, real_calls=True, http=http_client)
    harness = build_harness("anthropic", anthropic_fake, http_client)
    harness.provider = provider

    await harness.complete(requests.text())

    assert harness.sent.path == "/v1/messages"


@pytest.mark.parametrize(
    ("adapter", "settings", "message"),
    [
        ("azure", {}, "providers.test-azure.base_url: required for type azure"),
        (
            "openai_compatible",
            {},
            "providers.test-openai_compatible.base_url: required for type openai_compatible",
        ),
        (
            "azure",
            {"api_version": 2024},
            "providers.test-azure.settings.api_version: must be a non-empty string",
        ),
    ],
)
def test_configuration_errors_name_the_path(
    adapter: str, settings: dict[str, object], message: str, http_client: HttpClient
) -> None:
    config = provider_config(adapter, "http://unused", settings=settings)
    if not settings:
        config = dataclasses.replace(config, base_url="")
    with pytest.raises(ProviderConfigError) as caught:
        build_provider(config, real_calls=True, http=http_client)
    assert str(caught.value) == message
