"""Bedrock specifics beyond the conformance suite: SigV4 as the fake verifies it, where the
keys come from, model ids in the path, cache usage, error classification, request mapping."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from routerx.providers.bedrock import credentials
from routerx.providers.bedrock.credentials import credential_source
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.error_detail import CONTEXT_LENGTH_EXCEEDED
from routerx.providers.errors import RequestRejected, UpstreamError
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from tests.fakes.bedrock_server import ACCESS_KEY_ID, FakeBedrock
from tests.fakes.upstream import Scenario
from tests.providers import requests
from tests.providers.harness import Harness, build_harness, make_call, provider_config


@pytest.fixture
def harness(bedrock_fake: FakeBedrock, http_client: HttpClient) -> Harness:
    return build_harness("bedrock", bedrock_fake, http_client)


async def test_every_request_carries_a_signature_the_fake_verifies(harness: Harness) -> None:
    fake = harness.fake
    assert isinstance(fake, FakeBedrock)
    before = fake.signatures_checked
    await harness.complete(requests.text())
    await harness.stream(requests.text(stream=True))

    assert fake.signatures_checked == before + 2
    sent = harness.sent.headers
    assert sent["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/")
    assert "/us-east-1/bedrock/aws4_request" in sent["Authorization"]


async def test_a_wrong_secret_fails_the_signature(
    bedrock_fake: FakeBedrock, http_client: HttpClient
) -> None:
    wrong = build_harness("bedrock", bedrock_fake, http_client, secret="not-the-secret-key")

    with pytest.raises(UpstreamError) as caught:
        await wrong.complete(requests.text())

    # A provider whose credentials are refused is a provider failure (failover, breaker).
    assert caught.value.status == 403 and caught.value.is_failure
    assert "not-the-secret-key" not in str(caught.value)


async def test_keys_and_session_token_from_named_environment_variables(
    bedrock_fake: FakeBedrock,
    http_client: HttpClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TEST_AWS_KEY", ACCESS_KEY_ID)
    monkeypatch.setenv("TEST_AWS_SECRET", FakeBedrock.secret_access_key)
    monkeypatch.setenv("TEST_AWS_TOKEN", "fake-session-token-1")
    bedrock_fake.session_token = "fake-session-token-1"
    names = {
        "access_key_id": "TEST_AWS_KEY",
        "secret_access_key": "TEST_AWS_SECRET",
        "session_token": "TEST_AWS_TOKEN",
    }
    harness = build_harness(
        "bedrock", bedrock_fake, http_client, secret=None, settings={"credentials_env": names}
    )

    with caplog.at_level(logging.DEBUG):
        _, answer = await harness.complete(requests.text())

    assert answer.choices[0].message.content == Scenario().text
    assert harness.sent.headers["X-Amz-Security-Token"] == "fake-session-token-1"
    assert "fake-session-token-1" not in caplog.text  # botocore's signer logs no secrets


def test_configuration_errors_name_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSET_AWS_SECRET", raising=False)
    names = {"access_key_id": "UNSET_AWS_SECRET", "secret_access_key": "UNSET_AWS_SECRET"}
    config = provider_config("bedrock", "http://127.0.0.1:1", settings={"credentials_env": names})
    with pytest.raises(ProviderConfigError, match=r"credentials_env.access_key_id: environment"):
        credential_source(config)
    bad_secret = dataclasses.replace(
        provider_config("bedrock", "http://127.0.0.1:1"), secret="plain-string"
    )
    with pytest.raises(ProviderConfigError, match=r"test-bedrock.secret: expected a JSON object"):
        build_provider(bad_secret, real_calls=True, http=HttpClient())
    no_region = provider_config("bedrock", "http://127.0.0.1:1", settings={"region": "nowhere"})
    with pytest.raises(ProviderConfigError, match=r"settings.region: expected an AWS region"):
        build_provider(no_region, real_calls=True, http=HttpClient())


@pytest.mark.parametrize(
    "model",
    [
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "meta.llama3-70b-instruct-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-v1:0",
    ],
)
async def test_model_ids_and_profiles_travel_encoded_in_the_signed_path(
    harness: Harness, model: str
) -> None:
    completion = await harness.provider.complete(make_call(requests.text(), model))

    assert completion.finish_reason == "stop"
    assert harness.sent.path == f"/model/{model}/converse"  # as the fake decoded it


async def test_cache_tokens_are_counted_into_prompt_tokens(harness: Harness) -> None:
    harness.fake.script(Scenario(prompt_tokens=100, cached_tokens=60, cache_creation_tokens=30))
    completion, _ = await harness.complete(requests.text())
    harness.fake.script(Scenario(prompt_tokens=100, cached_tokens=60, cache_creation_tokens=30))
    stats, _ = await harness.stream(requests.text(stream=True))

    for usage in (completion.usage, stats.usage):
        assert usage is not None and usage.prompt_tokens == 100
        details = usage.prompt_tokens_details
        assert details.cached_tokens == 60 and details.cache_creation_tokens == 30  # type: ignore[union-attr]


async def test_model_error_424_is_a_failure_worth_the_next_target(harness: Harness) -> None:
    harness.fake.script(Scenario.fail(424))

    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())

    assert caught.value.is_failure and caught.value.client_status == 502


async def test_throttling_is_a_failure_with_its_retry_after(harness: Harness) -> None:
    harness.fake.script(Scenario.fail(429, retry_after="3"))

    with pytest.raises(UpstreamError) as caught:
        await harness.stream(requests.text(stream=True))

    assert caught.value.is_failure and caught.value.retry_after_s == 3.0


async def test_input_too_long_is_context_length_exceeded(harness: Harness) -> None:
    harness.fake.script(
        Scenario(status=400, body={"message": "Input is too long for requested model."})
    )

    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())

    assert caught.value.code == CONTEXT_LENGTH_EXCEEDED and not caught.value.is_failure


async def test_tool_round_trip_and_inference_config(harness: Harness) -> None:
    await harness.complete(
        requests.tool_round_trip(max_tokens=50, temperature=0.2, stop=["END"], top_p=0.9)
    )

    body = harness.sent.body
    assert body["inferenceConfig"] == {
        "maxTokens": 50,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert body["toolConfig"]["toolChoice"] == {"auto": {}}
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert body["messages"][1]["content"] == [
        {"toolUse": {"toolUseId": "call_abc", "name": "get_weather", "input": {"city": "Paris"}}}
    ]
    assert body["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "call_abc", "content": [{"json": {"temp_c": 21}}]}}
    ]
    assert "modelId" not in body and "model" not in body


async def test_pdf_goes_as_a_document_block(harness: Harness) -> None:
    await harness.complete(requests.with_parts(requests.FILE_PART))

    blocks = harness.sent.body["messages"][0]["content"]
    assert blocks[1] == {
        "document": {"format": "pdf", "name": "report", "source": {"bytes": requests.PDF_BASE64}}
    }


async def test_reasoning_effort_only_for_anthropic_models(harness: Harness) -> None:
    raw = requests.text(reasoning_effort="low", max_tokens=100)
    await harness.provider.complete(make_call(raw, "us.anthropic.claude-sonnet-4-v1:0"))
    sent = harness.sent.body
    assert sent["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }
    assert sent["inferenceConfig"]["maxTokens"] == 2148

    with pytest.raises(RequestRejected) as caught:
        await harness.provider.complete(make_call(raw, "meta.llama3-70b-instruct-v1:0"))
    assert caught.value.param == "reasoning_effort"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"seed": 1}, "seed"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
    ],
)
async def test_fields_without_a_converse_counterpart_are_refused(
    harness: Harness, extra: dict[str, object], param: str
) -> None:
    with pytest.raises(RequestRejected) as caught:
        await harness.complete(requests.text(**extra))

    assert caught.value.param == param
    assert harness.fake.requests == []


async def test_stream_exception_event_is_a_stream_failure(harness: Harness) -> None:
    harness.fake.script(Scenario(error_after_chunks=1))

    with pytest.raises(UpstreamError) as caught:
        await harness.stream(requests.text(stream=True))

    assert caught.value.is_failure
    assert json.dumps(harness.sent.body)  # the request itself was well-formed


async def test_without_keys_the_standard_aws_chain_is_used(
    bedrock_fake: FakeBedrock, http_client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FakeBedrock.secret_access_key)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setattr(credentials, "_chain", [])  # resolved afresh, from this environment
    harness = build_harness("bedrock", bedrock_fake, http_client, secret=None)

    _, answer = await harness.complete(requests.text())

    assert answer.choices[0].message.content == Scenario().text
    assert f"Credential={ACCESS_KEY_ID}/" in harness.sent.headers["Authorization"]
