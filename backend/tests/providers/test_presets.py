"""Presets for OpenAI-compatible hosts: the data file, and what a preset changes on the wire."""

from __future__ import annotations

import dataclasses

import pytest

from routerx.providers.base import CAPABILITIES
from routerx.providers.config_loader import ProviderConfigError, _base_url
from routerx.providers.http import HttpClient
from routerx.providers.presets import ESSENTIAL_FIELDS, presets
from routerx.providers.registry import build_provider
from tests.fakes.openai_server import FakeOpenAI
from tests.providers import requests
from tests.providers.harness import build_harness, provider_config

HOSTS = {
    "mistral",
    "groq",
    "deepseek",
    "together",
    "fireworks",
    "xai",
    "openrouter",
    "vllm",
    "ollama",
    "lmstudio",
}


def test_every_host_has_a_usable_preset() -> None:
    table = presets()
    assert set(table) == HOSTS
    for name, preset in table.items():
        assert _base_url(preset.base_url, name) == preset.base_url
        assert set(preset.capabilities) <= set(CAPABILITIES) - {"embeddings"}
        assert "text" in preset.capabilities
        assert not ESSENTIAL_FIELDS & set(preset.drop_fields)
    local = {name for name, p in table.items() if p.base_url.startswith("http://127.0.0.1")}
    assert local == {"vllm", "ollama", "lmstudio"}  # loopback, never a public plain-http host


async def test_a_preset_drops_the_fields_its_host_refuses(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    harness = build_harness(
        "openai_compatible", openai_fake, http_client, settings={"preset": "mistral"}
    )
    await harness.complete(requests.text(user="u-1", seed=7, temperature=0.5))
    sent = harness.sent.body
    assert "user" not in sent and "seed" not in sent
    assert sent["temperature"] == 0.5

    await harness.stream(requests.text(stream=True))
    assert "stream_options" not in harness.sent.body  # Mistral's streams carry usage unasked


async def test_own_drop_fields_add_to_the_preset_and_own_stream_setting_wins(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    settings = {"preset": "groq", "drop_fields": ["temperature"], "stream_include_usage": False}
    harness = build_harness("openai_compatible", openai_fake, http_client, settings=settings)

    await harness.stream(requests.text(stream=True, temperature=0.3))

    sent = harness.sent.body
    assert "temperature" not in sent and "stream_options" not in sent


async def test_without_a_preset_nothing_is_dropped(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    harness = build_harness("openai_compatible", openai_fake, http_client)
    await harness.complete(requests.text(user="u-1", seed=7))
    assert harness.sent.body["user"] == "u-1" and harness.sent.body["seed"] == 7


def test_an_unknown_preset_names_the_path(http_client: HttpClient) -> None:
    config = provider_config("openai_compatible", "http://127.0.0.1:1", settings={"preset": "x"})
    with pytest.raises(ProviderConfigError, match=r"settings.preset: unknown 'x'"):
        build_provider(config, real_calls=True, http=http_client)
    bad = dataclasses.replace(config, settings={"drop_fields": "user"})
    with pytest.raises(ProviderConfigError, match=r"settings.drop_fields: must be a list"):
        build_provider(bad, real_calls=True, http=http_client)
