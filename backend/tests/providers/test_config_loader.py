"""Provider records to ProviderConfig: secrets, timeouts and errors that name the config path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from routerx.auth.secrets import encrypt_secret
from routerx.providers.base import Timeouts
from routerx.providers.config_loader import ProviderConfigError, provider_config_from_record
from routerx.settings import Settings

SETTINGS = Settings(jwt_secret="test-jwt-secret", secret_key="test-secret-key")
SECRET = "sk-live-4b1d-unique-test-secret"


@dataclass
class Record:
    name: str = "my-openai"
    type: str = "openai"
    base_url: str = "https://api.openai.com/v1"
    model_map: Any = field(default_factory=dict)
    capabilities: Any = field(default_factory=lambda: ["text", "vision"])
    enabled: bool = True
    settings: Any = field(default_factory=dict)
    secret_ciphertext: str | None = None
    secret_env: str | None = None
    id: int = 7


def test_decrypts_the_stored_secret_and_keeps_it_out_of_repr() -> None:
    record = Record(secret_ciphertext=encrypt_secret(SECRET, SETTINGS))

    config = provider_config_from_record(record, SETTINGS)

    assert config.secret == SECRET
    assert SECRET not in repr(config) and SECRET not in str(config)
    assert config.capabilities == frozenset({"text", "vision"})


def test_reads_the_secret_from_the_named_environment_variable() -> None:
    record = Record(secret_env="MY_OPENAI_KEY")

    config = provider_config_from_record(record, SETTINGS, {"MY_OPENAI_KEY": SECRET})

    assert config.secret == SECRET


@pytest.mark.parametrize(
    "name",
    ["JWT_SECRET", "DATABASE_URL", "REDIS_URL", "ROUTERX_SECRET_KEY", "ROUTERX_INTERNAL_TOKEN"],
)
def test_routerx_settings_are_never_read_as_a_provider_key(name: str) -> None:
    # A row written before the admin API checked names, or by hand, still sends nothing.
    with pytest.raises(ProviderConfigError, match="is a RouterX setting"):
        provider_config_from_record(Record(secret_env=name), SETTINGS, {name: SECRET})
    allowed = provider_config_from_record(
        Record(secret_env="ROUTERX_PROVIDER_OPENAI"), SETTINGS, {"ROUTERX_PROVIDER_OPENAI": SECRET}
    )
    assert allowed.secret == SECRET


def test_unset_secret_variable_is_an_error_only_with_real_calls() -> None:
    record = Record(secret_env="MISSING_KEY")
    assert provider_config_from_record(record, SETTINGS, {}).secret is None

    real = Settings(jwt_secret="x", secret_key="y", enable_real_calls=True)
    with pytest.raises(ProviderConfigError) as caught:
        provider_config_from_record(record, real, {})
    assert str(caught.value) == (
        "providers.my-openai.secret_env: environment variable MISSING_KEY is not set"
    )


def test_undecryptable_secret_names_the_field_not_the_value() -> None:
    other = Settings(jwt_secret="x", secret_key="another-key")
    record = Record(secret_ciphertext=encrypt_secret(SECRET, other))

    with pytest.raises(ProviderConfigError) as caught:
        provider_config_from_record(record, SETTINGS)

    assert str(caught.value).startswith("providers.my-openai.secret_ciphertext:")
    assert SECRET not in str(caught.value)
    assert record.secret_ciphertext is not None
    assert record.secret_ciphertext not in str(caught.value)


def test_timeouts_from_settings() -> None:
    record = Record(settings={"timeouts": {"connect_s": 2, "first_token_s": 15.5, "idle_s": 9}})

    config = provider_config_from_record(record, SETTINGS)

    assert config.timeouts == Timeouts(
        connect_s=2.0, first_token_s=15.5, idle_s=9.0, total_s=SETTINGS.upstream_timeout_s
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"timeouts": {"connect_s": -1}},
            "providers.my-openai.settings.timeouts.connect_s: must be a positive number",
        ),
        (
            {"timeouts": {"total_s": "soon"}},
            "providers.my-openai.settings.timeouts.total_s: must be a positive number",
        ),
        (
            {"timeouts": {"idle_s": True}},
            "providers.my-openai.settings.timeouts.idle_s: must be a positive number",
        ),
        (
            {"timeouts": {"read_s": 3}},
            "providers.my-openai.settings.timeouts.read_s: unknown key "
            "(expected one of connect_s, first_token_s, idle_s, total_s)",
        ),
        ({"timeouts": [1, 2]}, "providers.my-openai.settings.timeouts: must be an object"),
        ("fast", "providers.my-openai.settings: must be an object"),
    ],
)
def test_bad_settings_name_their_path(settings: Any, message: str) -> None:
    with pytest.raises(ProviderConfigError) as caught:
        provider_config_from_record(Record(settings=settings), SETTINGS)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("base_url", "ftp://files.example", "providers.my-openai.base_url: must be an http(s) URL"),
        (
            "base_url",
            "https://user:pw@api.example/v1",
            "providers.my-openai.base_url: must not carry credentials, a query or a fragment",
        ),
        (
            "model_map",
            {"gpt-4o": 5},
            "providers.my-openai.model_map.gpt-4o: must be a non-empty string",
        ),
        (
            "capabilities",
            ["text", "telepathy"],
            "providers.my-openai.capabilities: unknown capability 'telepathy' "
            "(expected text, vision, tools, json, audio, files, embeddings)",
        ),
    ],
)
def test_bad_fields_name_their_path(field_name: str, value: Any, message: str) -> None:
    record = Record(**{field_name: value})
    with pytest.raises(ProviderConfigError) as caught:
        provider_config_from_record(record, SETTINGS)
    assert str(caught.value) == message


def test_defaults() -> None:
    config = provider_config_from_record(
        Record(base_url="https://api.example/v1/", capabilities=[]), SETTINGS
    )
    assert config.base_url == "https://api.example/v1"
    assert config.capabilities == frozenset({"text"})
    assert config.secret is None


def test_only_types_with_an_embeddings_api_may_declare_embeddings() -> None:
    with pytest.raises(ProviderConfigError) as caught:
        provider_config_from_record(
            Record(type="anthropic", capabilities=["text", "embeddings"]), SETTINGS
        )
    assert str(caught.value) == (
        "providers.my-openai.capabilities: providers of type anthropic have no embeddings"
    )
    config = provider_config_from_record(
        Record(type="gemini", capabilities=["embeddings"]), SETTINGS
    )
    assert config.capabilities == frozenset({"embeddings"})
