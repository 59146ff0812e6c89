"""Provider types to adapters."""

from __future__ import annotations

import dataclasses

import pytest

from routerx.providers.http import HttpClient
from routerx.providers.mock import MockProvider
from routerx.providers.registry import UnknownProviderType, build_provider, provider_types
from tests.providers.harness import provider_config


def test_every_type_is_registered() -> None:
    assert provider_types() == [
        "anthropic",
        "azure",
        "bedrock",
        "gemini",
        "mock",
        "openai",
        "openai_compatible",
        "vertex",
    ]


@pytest.mark.parametrize("adapter", ["openai", "anthropic", "gemini", "azure"])
def test_without_real_calls_every_provider_is_the_mock(adapter: str) -> None:
    provider = build_provider(provider_config(adapter, "http://unused"), real_calls=False)
    assert isinstance(provider, MockProvider)


def test_unknown_type_names_the_config_path(http_client: HttpClient) -> None:
    config = dataclasses.replace(
        provider_config("openai", "http://unused"), name="odd", type="cohere"
    )
    with pytest.raises(UnknownProviderType, match=r"providers\.odd\.type: unknown type 'cohere'"):
        build_provider(config, real_calls=True, http=http_client)


def test_real_calls_need_the_shared_client() -> None:
    with pytest.raises(ValueError, match="HttpClient"):
        build_provider(provider_config("openai", "http://unused"), real_calls=True)
