"""Embeddings conformance: every adapter with an embeddings API against its fake upstream on a
real port, which refuses any request that breaks that provider's documented wire format."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from routerx.gateway.fronts.embeddings import decode_embeddings
from routerx.providers.base import EMBEDDING_TYPES, EmbedCall, EmbeddingProvider, Timeouts
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from routerx.wire.embeddings import EmbeddingList, EmbeddingsRequest, decode_base64_vector
from routerx.wire.openai import Usage
from tests.fakes.gemini_server import fake_values
from tests.fakes.openai_server import fake_vector
from tests.fakes.upstream import FakeUpstream, Scenario
from tests.providers.harness import SECRET, UPSTREAM_MODEL, Harness, build_harness, provider_config

EMBEDDING_ADAPTERS = ("openai", "azure", "openai_compatible", "gemini")
OPENAI_FAMILY = ("openai", "azure", "openai_compatible")


@pytest.fixture(params=EMBEDDING_ADAPTERS)
def harness(
    request: pytest.FixtureRequest, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> Harness:
    return build_harness(request.param, fakes[request.param], http_client)


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "text-embedding-3-small", "input": "Hello", **fields}


def call_for(raw: dict[str, Any]) -> EmbedCall:
    canonical = decode_embeddings(raw)
    assert isinstance(canonical.request, EmbeddingsRequest)
    return EmbedCall(canonical.request, canonical.raw, UPSTREAM_MODEL, "req-embed-1")


async def embed(harness: Harness, raw: dict[str, Any]) -> tuple[EmbeddingList, Usage | None]:
    provider = harness.provider
    assert isinstance(provider, EmbeddingProvider)
    answer = await provider.embed(call_for(raw))
    return msgspec.json.decode(answer.body, type=EmbeddingList), answer.usage


def vectors(answer: EmbeddingList) -> list[list[float]]:
    return [
        decode_base64_vector(item.embedding)
        if isinstance(item.embedding, str)
        else list(item.embedding)
        for item in answer.data
    ]


def expected(adapter: str, texts: list[str], dimensions: int = 4) -> list[list[float]]:
    if adapter == "gemini":
        return [fake_values(text, dimensions) for text in texts]
    return [fake_vector(index, dimensions) for index in range(len(texts))]


def test_exactly_the_types_with_an_embeddings_api_implement_embed(http_client: HttpClient) -> None:
    for adapter in ("mock", "openai", "azure", "openai_compatible", "anthropic", "gemini"):
        config = provider_config(adapter, "http://127.0.0.1:9")
        provider = build_provider(config, real_calls=True, http=http_client)
        assert isinstance(provider, EmbeddingProvider) == (adapter in EMBEDDING_TYPES), adapter
    assert "anthropic" not in EMBEDDING_TYPES


async def test_single_text(harness: Harness) -> None:
    answer, usage = await embed(harness, body())

    assert answer.object == "list" and answer.model == UPSTREAM_MODEL
    assert [item.index for item in answer.data] == [0]
    assert all(item.object == "embedding" for item in answer.data)
    assert vectors(answer) == expected(harness.adapter, ["Hello"])
    sent = harness.sent
    if harness.adapter == "gemini":
        assert sent.path == f"/v1beta/models/{UPSTREAM_MODEL}:batchEmbedContents"
        assert sent.headers["x-goog-api-key"] == SECRET
        assert sent.body == {
            "requests": [
                {"model": f"models/{UPSTREAM_MODEL}", "content": {"parts": [{"text": "Hello"}]}}
            ]
        }
        assert usage == Usage(2, 0, 2)  # estimated: Gemini reports no token counts
    else:
        assert sent.body == {"model": UPSTREAM_MODEL, "input": "Hello"}
        assert usage == Usage(12, 0, 12)  # the upstream's own count
        if harness.adapter == "azure":
            assert sent.path == f"/openai/deployments/{UPSTREAM_MODEL}/embeddings"
            assert sent.query == {"api-version": "2024-10-21"}
            assert sent.headers["api-key"] == SECRET
            assert "authorization" not in {k.lower() for k in sent.headers}
        else:
            assert sent.path == "/v1/embeddings"
            assert sent.headers["Authorization"] == f"Bearer {SECRET}"


async def test_list_of_texts_with_dimensions_and_user(harness: Harness) -> None:
    texts = ["alpha", "beta gamma", "delta"]
    answer, _ = await embed(harness, body(input=texts, dimensions=6, user="user-42"))

    assert [item.index for item in answer.data] == [0, 1, 2]
    assert vectors(answer) == expected(harness.adapter, texts, dimensions=6)
    sent = harness.sent.body
    if harness.adapter == "gemini":
        assert [r["content"]["parts"][0]["text"] for r in sent["requests"]] == texts
        assert {r["outputDimensionality"] for r in sent["requests"]} == {6}
    else:
        assert sent == {"model": UPSTREAM_MODEL, "input": texts, "dimensions": 6, "user": "user-42"}


async def test_base64(harness: Harness) -> None:
    answer, _ = await embed(harness, body(input=["one", "two"], encoding_format="base64"))

    assert all(isinstance(item.embedding, str) for item in answer.data)
    assert vectors(answer) == expected(harness.adapter, ["one", "two"])
    if harness.adapter != "gemini":  # asked upstream for base64 and relayed as it came
        assert harness.sent.body["encoding_format"] == "base64"


async def test_token_arrays(harness: Harness) -> None:
    raw = body(input=[[101, 202, 303], [7]])
    if harness.adapter == "gemini":
        with pytest.raises(UpstreamError) as caught:
            await embed(harness, raw)
        assert caught.value.status == 400 and not caught.value.is_failure
        assert "token arrays" in caught.value.message
        assert harness.fake.requests == []
        return
    answer, _ = await embed(harness, raw)
    assert len(answer.data) == 2
    assert harness.sent.body["input"] == [[101, 202, 303], [7]]


@pytest.mark.parametrize(
    ("status", "is_failure"), [(400, False), (401, True), (429, True), (500, True)]
)
async def test_upstream_error_status(harness: Harness, status: int, is_failure: bool) -> None:
    harness.fake.script(Scenario.fail(status, retry_after="7"))

    with pytest.raises(UpstreamError) as caught:
        await embed(harness, body())

    error = caught.value
    assert (error.status, error.kind, error.is_failure) == (status, FailureKind.HTTP, is_failure)
    assert error.message.startswith(f"Upstream provider test-{harness.adapter} returned {status}")
    for leak in (SECRET, harness.fake.url, "127.0.0.1", "Fake", "Rate limit"):
        assert leak not in str(error)
    assert error.retry_after_s == (7.0 if status == 429 else None)


async def test_timeout(harness: Harness, http_client: HttpClient) -> None:
    slow = build_harness(
        harness.adapter, harness.fake, http_client, timeouts=Timeouts(connect_s=1, total_s=0.3)
    )
    harness.fake.script(Scenario(delay_s=2.0))

    with pytest.raises(UpstreamError) as caught:
        await embed(slow, body())

    assert caught.value.kind is FailureKind.TIMEOUT and caught.value.client_status == 504


async def test_connection_reset(harness: Harness) -> None:
    harness.fake.script(Scenario(reset_after_chunks=0))

    with pytest.raises(UpstreamError) as caught:
        await embed(harness, body())

    assert caught.value.is_failure


async def test_an_answer_with_the_wrong_number_of_vectors_is_a_protocol_error(
    harness: Harness,
) -> None:
    wrong = (
        {"embeddings": [{"values": [0.5]}, {"values": [0.25]}]}
        if harness.adapter == "gemini"
        else {"object": "list", "data": [], "model": "m", "usage": {"prompt_tokens": 1}}
    )
    harness.fake.script(Scenario(body=wrong))

    with pytest.raises(UpstreamError) as caught:
        await embed(harness, body())

    assert caught.value.kind is FailureKind.PROTOCOL and caught.value.is_failure


async def test_an_error_object_in_a_200_answer(harness: Harness) -> None:
    harness.fake.script(Scenario(body={"error": {"message": "secret detail", "code": 500}}))

    with pytest.raises(UpstreamError) as caught:
        await embed(harness, body())

    assert caught.value.is_failure and "secret detail" not in str(caught.value)


@pytest.mark.parametrize("adapter", OPENAI_FAMILY)
async def test_floats_answered_to_a_base64_request_are_encoded_by_routerx(
    adapter: str, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    harness = build_harness(adapter, fakes[adapter], http_client)
    floats = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25, 1.0]}],
        "model": UPSTREAM_MODEL,
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }
    harness.fake.script(Scenario(body=floats))

    answer, usage = await embed(harness, body(encoding_format="base64"))

    assert isinstance(answer.data[0].embedding, str)
    assert decode_base64_vector(answer.data[0].embedding) == [0.5, -0.25, 1.0]
    assert usage == Usage(3, 0, 3)


async def test_gemini_sends_at_most_100_inputs_per_batch(
    fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    harness = build_harness("gemini", fakes["gemini"], http_client)
    texts = [f"text number {i}" for i in range(250)]

    answer, usage = await embed(harness, body(input=texts))

    assert [len(r.body["requests"]) for r in harness.fake.requests] == [100, 100, 50]
    assert [item.index for item in answer.data] == list(range(250))
    assert vectors(answer) == expected("gemini", texts)
    assert usage is not None and usage.prompt_tokens == sum(len(t) // 4 + 1 for t in texts)


@pytest.mark.parametrize(
    ("adapter", "path", "bad"),
    [
        ("openai", "/v1/embeddings", {"model": "m", "input": "x", "stream": True}),
        ("openai", "/v1/embeddings", {"model": "m", "input": []}),
        ("openai", "/v1/embeddings", {"model": "m", "input": "x", "encoding_format": "int8"}),
        ("openai", "/v1/embeddings", {"input": "x"}),
        ("azure", "/openai/deployments/d/embeddings", {"input": "x"}),  # no api-version
        ("gemini", "/v1beta/models/m:batchEmbedContents", {"requests": [{"content": "x"}]}),
        (
            "gemini",
            "/v1beta/models/m:batchEmbedContents",
            {"requests": [{"model": "models/other", "content": {"parts": [{"text": "x"}]}}]},
        ),
    ],
)
async def test_the_fakes_refuse_what_the_providers_refuse(
    adapter: str,
    path: str,
    bad: dict[str, Any],
    fakes: dict[str, FakeUpstream],
    http_client: HttpClient,
) -> None:
    session = http_client.session()
    async with session.post(f"{fakes[adapter].url}{path}", json=bad) as response:
        assert response.status == 400
        assert "error" in await response.json()
