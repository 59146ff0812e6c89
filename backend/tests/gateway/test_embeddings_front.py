"""The embeddings front adapter: what it accepts, what it refuses with which 400, and the
canonical request it builds. Pure: no gateway needed."""

from __future__ import annotations

from typing import Any

import pytest

from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.embeddings import EmbeddingsFront
from routerx.providers.base import Embeddings
from routerx.wire.embeddings import MAX_INPUT_TOKENS, MAX_INPUTS, EmbeddingsRequest

FRONT = EmbeddingsFront()


def decode(**fields: Any) -> EmbeddingsRequest:
    canonical = FRONT.decode({"model": "text-embedding-3-small", **fields})
    assert canonical.stream is False
    assert canonical.requested_model == "text-embedding-3-small"
    assert isinstance(canonical.request, EmbeddingsRequest)
    return canonical.request


def refused(raw: dict[str, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        FRONT.decode(raw)
    assert caught.value.status == 400 and caught.value.type == "invalid_request_error"
    return caught.value


def test_every_input_shape() -> None:
    assert decode(input="hi").texts == ("hi",)
    assert decode(input=["a", "b"]).texts == ("a", "b")
    single = decode(input=[1, 2, 3])
    assert (single.texts, single.token_ids, single.count) == ((), ((1, 2, 3),), 1)
    several = decode(input=[[1], [2, 3]])
    assert several.token_ids == ((1,), (2, 3)) and several.count == 2
    assert several.input_tokens() == [1, 2]


def test_options() -> None:
    request = decode(input="x", dimensions=256, encoding_format="base64", user="u-1", stream=False)
    assert (request.dimensions, request.encoding_format, request.user) == (256, "base64", "u-1")
    assert decode(input="x").encoding_format == "float"


def test_stream_is_not_part_of_this_api() -> None:
    error = refused({"model": "m", "input": "x", "stream": True})
    assert (error.param, error.code) == ("stream", "unsupported_parameter")
    assert "not streamed" in error.message


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ({"model": "m"}, "input"),
        ({"input": "x"}, "model"),
        ({"model": "m", "input": ""}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": ["a", ""]}, "input[1]"),
        ({"model": "m", "input": ["a", 1]}, "input[1]"),
        ({"model": "m", "input": [1, "a"]}, "input"),
        ({"model": "m", "input": [1, -2]}, "input"),
        ({"model": "m", "input": [True]}, "input[0]"),
        ({"model": "m", "input": [[1], []]}, "input[1]"),
        ({"model": "m", "input": [[1], [1.5]]}, "input[1]"),
        ({"model": "m", "input": [{"text": "x"}]}, "input[0]"),
        ({"model": "m", "input": 5}, "input"),
        ({"model": "m", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"model": "m", "input": "x", "user": 7}, "user"),
        ({"model": "m", "input": "x", "temperature": 1}, "temperature"),
        ({"model": "m", "input": "x", "api_base": "http://evil"}, "api_base"),
        ({"model": "m\x00", "input": "x"}, "model"),
        ({"model": "m", "input": "\ud800"}, "input"),
    ],
)
def test_bad_input_is_a_400_naming_the_param(raw: dict[str, Any], param: str) -> None:
    assert refused(raw).param == param


def test_documented_limits() -> None:
    many = refused({"model": "m", "input": ["x"] * (MAX_INPUTS + 1)})
    assert (many.param, many.code) == ("input", "too_many_inputs")
    assert decode(input=["x"] * MAX_INPUTS).count == MAX_INPUTS

    tokens = refused({"model": "m", "input": [[1], [0] * (MAX_INPUT_TOKENS + 1)]})
    assert (tokens.param, tokens.code) == ("input[1]", "input_too_long")
    assert decode(input=[0] * MAX_INPUT_TOKENS).count == 1

    text = refused({"model": "m", "input": "word " * 8000})  # about 10000 tokens
    assert (text.param, text.code) == ("input", "input_too_long")


def test_answers_and_errors_are_openai_shaped() -> None:
    canonical = FRONT.decode({"model": "m", "input": "x"})
    assert FRONT.encode_completion(Embeddings(b'{"object":"list"}'), canonical) == (
        b'{"object":"list"}'
    )
    status, body = FRONT.error_body(GatewayError(400, "bad", "invalid_request_error", "input"))
    assert status == 400 and b'"param":"input"' in body
    assert (FRONT.api, FRONT.operation) == ("embeddings", "embeddings")


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([], None),
        ([(b"authorization", b"Bearer sk-abc")], "sk-abc"),
        ([(b"authorization", b"bearer  sk-abc ")], "sk-abc"),
    ],
)
def test_api_key_from_the_bearer_header(
    headers: list[tuple[bytes, bytes]], key: str | None
) -> None:
    assert FRONT.api_key({"type": "http", "headers": headers}) == key


def test_another_authorization_scheme_is_an_incorrect_key() -> None:
    with pytest.raises(GatewayError) as caught:
        FRONT.api_key({"type": "http", "headers": [(b"authorization", b"Basic dXNlcg==")]})
    assert (caught.value.status, caught.value.code) == (401, "invalid_api_key")
