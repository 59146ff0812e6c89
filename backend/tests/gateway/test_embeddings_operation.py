"""The embeddings operation the pipeline runs, and the typed seam of the canonical request."""

from __future__ import annotations

import random

import msgspec
import pytest

from routerx.gateway.fronts.base import Canonical
from routerx.gateway.fronts.embeddings import decode_embeddings
from routerx.gateway.operations import OPERATIONS
from routerx.providers.base import ProviderConfig
from routerx.providers.mock import MockProvider
from routerx.routing.capabilities import EMBEDDINGS_NEEDS
from routerx.wire.openai import ChatRequest

EMBEDDINGS = OPERATIONS["embeddings"]


def canonical(**fields: object) -> Canonical:
    return decode_embeddings({"model": "text-embedding-3-small", **fields})


def test_needs_and_the_tokens_reserved_are_the_inputs() -> None:
    assert EMBEDDINGS.needs(canonical(input="x")) == EMBEDDINGS_NEEDS
    assert EMBEDDINGS.token_estimate(canonical(input=[[1, 2, 3], [4]])) == 4
    assert EMBEDDINGS.token_estimate(canonical(input=["a" * 40, "b" * 8])) == 11 + 3


async def test_answer_is_the_providers_list_body_with_its_usage() -> None:
    provider = MockProvider(ProviderConfig(id=1, name="m", type="mock"), random.Random(1))
    request = canonical(input=["a", "b"], dimensions=4)

    completion = await EMBEDDINGS.answer(provider, request, "up-model", "r1")

    body = msgspec.json.decode(completion.body)
    assert [len(item["embedding"]) for item in body["data"]] == [4, 4]
    assert completion.usage is not None and completion.usage.total_tokens == 2
    assert completion.finish_reason is None


def test_each_operation_reads_only_its_own_request() -> None:
    embeddings = canonical(input="x")
    chat_request = msgspec.convert(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, ChatRequest
    )
    chat = Canonical(chat_request, {}, False, "m")
    assert chat.chat is chat_request and embeddings.embeddings.texts == ("x",)
    with pytest.raises(TypeError):
        _ = embeddings.chat
    with pytest.raises(TypeError):
        _ = chat.embeddings
