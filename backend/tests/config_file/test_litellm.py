"""The LiteLLM importer: what maps, where it goes, and every setting it cannot map, with why."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from routerx.config_file.export import render_yaml
from routerx.config_file.litellm import import_litellm
from routerx.config_file.loader import ConfigFileError, load_text
from tests.config_file.litellm_configs import AZURE_AND_FALLBACKS, SEVERAL_PROVIDERS

URLS = {
    "azure_eu": "https://my-endpoint-europe.openai.azure.com",
    "azure_ca": "https://my-endpoint-canada.openai.azure.com",
    "compatible": "http://vllm.internal:8000",
}


def fill(text: str, urls: dict[str, str]) -> str:
    for name, url in urls.items():
        text = text.replace("{" + name + "}", url)
    return text


def imported(text: str, **env: str) -> tuple[dict[str, object], list[str]]:
    result = import_litellm(yaml.safe_load(text), "config.yaml")
    rendered = render_yaml(result.document)
    load_text(rendered, "routerx.yaml")  # the output is a valid RouterX file
    return yaml.safe_load(rendered), result.unmapped


def test_azure_deployments_balance_by_rpm_and_fall_back_to_another_group() -> None:
    document, unmapped = imported(fill(AZURE_AND_FALLBACKS, URLS))
    providers = {p["name"]: p for p in document["providers"]}  # type: ignore[index, union-attr]
    assert providers["azure-my-endpoint-europe"] == {
        "name": "azure-my-endpoint-europe",
        "type": "azure",
        "base_url": URLS["azure_eu"],
        "settings": {"timeouts": {"total_s": 30.0}, "api_version": "2024-02-15-preview"},
        "secret_env": "AZURE_API_KEY_EU",
    }
    assert providers["openai-vllm"]["type"] == "openai_compatible"
    assert providers["openai-vllm"]["base_url"] == "http://vllm.internal:8000/v1"
    rules = {r["name"]: r for r in document["rules"]}  # type: ignore[index, union-attr]
    assert rules["gpt-4o"] == {
        "name": "gpt-4o",
        "model_pattern": "gpt-4o",
        "targets": [
            {"provider": "azure-my-endpoint-europe", "model": "gpt-4o-eu", "weight": 6},
            {"provider": "azure-my-endpoint-canada", "model": "gpt-4o-ca", "weight": 6},
            {"provider": "openai-vllm", "model": "facebook/opt-125m", "tier": 1},
        ],
    }
    [tenant] = document["tenants"]  # type: ignore[misc]
    assert tenant["keys"] == [
        {"name": "master-key", "digest": hashlib.sha256(b"sk-1234").hexdigest()}
    ]
    joined = "\n".join(unmapped)
    for setting in (
        "model_list[2].litellm_params.temperature",
        "router_settings.routing_strategy",
        "router_settings.num_retries",
        "litellm_settings.drop_params",
        "litellm_settings.context_window_fallbacks: RouterX answers a prompt longer",
        "litellm_settings.success_callback",
        "general_settings.database_url",
    ):
        assert setting in joined, setting
    assert "sk-1234" not in joined


def test_several_providers_and_what_does_not_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITELLM_MASTER_KEY", raising=False)
    document, unmapped = imported(SEVERAL_PROVIDERS)
    providers = {p["name"]: p for p in document["providers"]}  # type: ignore[index, union-attr]
    assert {name: p["type"] for name, p in providers.items()} == {
        "openai": "openai",
        "anthropic": "anthropic",
        "gemini": "gemini",
        "ollama-localhost": "openai_compatible",
        "groq": "openai_compatible",
        "azure-my-endpoint-europe-berri-992": "azure",
        "openai-2": "openai",
    }
    assert providers["openai"]["capabilities"] == ["text", "vision"]
    assert providers["ollama-localhost"]["base_url"] == "http://localhost:11434/v1"
    assert providers["groq"]["base_url"] == "https://api.groq.com/openai/v1"
    assert providers["azure-my-endpoint-europe-berri-992"]["capabilities"] == ["embeddings"]
    assert "secret_env" not in providers["openai-2"]
    rules = {r["name"]: r for r in document["rules"]}  # type: ignore[index, union-attr]
    assert rules["embeddings"]["capability"] == "embeddings"
    assert rules["gpt-4.1-mini-vision"]["capability"] == "vision"
    # default_fallbacks: every text rule falls back to claude-sonnet, except claude-sonnet itself
    assert rules["llama3"]["targets"][-1] == {
        "provider": "anthropic",
        "model": "claude-3-5-sonnet-20240620",
        "tier": 1,
    }
    assert len(rules["claude-sonnet"]["targets"]) == 1
    assert "tenants" not in document or document["tenants"] == []
    joined = "\n".join(unmapped)
    assert "model_list[6].litellm_params.model: RouterX has no 'bedrock' provider type" in joined
    assert "model_list[7].litellm_params.api_key: a literal key is not copied" in joined
    assert "sk-literal-do-not-copy" not in joined
    assert "general_settings.master_key: LITELLM_MASTER_KEY is not set here" in joined
    assert "environment_variables: set these in RouterX's environment" in joined


def test_a_master_key_from_the_environment_is_kept_as_its_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-from-env")
    document, _ = imported(SEVERAL_PROVIDERS)
    [tenant] = document["tenants"]  # type: ignore[misc]
    assert tenant["keys"][0]["digest"] == hashlib.sha256(b"sk-from-env").hexdigest()


def test_a_config_without_model_list_is_refused() -> None:
    with pytest.raises(ConfigFileError, match="model_list"):
        import_litellm({"general_settings": {}}, "config.yaml")
