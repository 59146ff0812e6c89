"""Property-based fuzzing of the request decoder (routerx.gateway.request_parsing).

Whatever the input (arbitrary bytes, JSON text near the schema, or JSON-shaped objects handed
straight to `validate`), the decoder either returns a ChatRequest or raises a GatewayError with
a 4xx status whose body is OpenAI-shaped. Any other exception would be a 500 in the gateway.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from routerx.gateway.errors import GatewayError
from routerx.gateway.request_parsing import FORBIDDEN_FIELDS, decode_body, validate
from routerx.wire.openai import ChatRequest

FUZZ = settings(
    max_examples=int(os.environ.get("ROUTERX_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # The same examples on every CI run, so that a failure is reproducible; set
    # ROUTERX_FUZZ_RANDOM=1 (and ROUTERX_FUZZ_EXAMPLES) to explore further.
    derandomize=os.environ.get("ROUTERX_FUZZ_RANDOM") != "1",
)
ROLES = ["system", "developer", "user", "assistant", "tool", "function"]
MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\0\0\0\0WEBP", b"BM", b"<svg"]
MIMES = ["image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp", "image/svg+xml", ""]


@st.composite
def data_urls(draw: st.DrawFn, text: st.SearchStrategy[str]) -> str:
    """data: URLs: real magic bytes or not, declared types right or wrong, base64 or not."""
    mime = draw(st.sampled_from(MIMES) | text)
    data = draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=24))
    encoded = base64.b64encode(data).decode()
    variants = [
        encoded,
        encoded.rstrip("="),
        base64.urlsafe_b64encode(data).decode(),
        encoded + "é",
    ]
    payload = draw(st.sampled_from(variants) | text)
    marker = draw(st.sampled_from([";base64", "", ";charset=x;base64", ";BASE64"]))
    return f"data:{mime}{marker},{payload}"


def near_schema(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Request objects near ChatRequest's schema (and any other JSON value now and then),
    every string drawn from `text`."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | text
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=6,
    )

    urls = data_urls(text) | st.sampled_from(["https://example.com/cat.png", "file:///x"]) | text
    url_objects = st.fixed_dictionaries(
        {"url": urls},
        optional={"detail": st.sampled_from(["auto", "low", "high", "max"]) | values},
    )
    image_parts = st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": urls | url_objects}
    ) | st.fixed_dictionaries({"type": st.just("image_url")}, optional={"image_url": values})
    text_parts = st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "input_text", "video"])}, optional={"text": values}
    )
    contents = st.one_of(
        st.lists(image_parts | text_parts | values, max_size=4),
        st.lists(image_parts | text_parts, min_size=1, max_size=3),
        text,
        st.none(),
        values,
    )
    likely = st.sampled_from([True] * 9 + [False])  # true about 9 times in 10
    tool_calls = st.lists(
        st.fixed_dictionaries(
            {"id": text | values, "function": st.fixed_dictionaries({"name": text | values})},
            optional={"type": st.just("function") | values},
        ),
        max_size=2,
    )
    message_extras = {
        "name": text | values,
        "tool_call_id": text | values,
        "tool_calls": tool_calls | values,
    }

    @st.composite
    def messages(draw: st.DrawFn) -> dict[str, Any]:
        message = {"role": draw(st.sampled_from(ROLES) if draw(likely) else values)}
        if draw(likely):
            message["content"] = draw(contents)
        if not draw(likely):
            name = draw(st.sampled_from(sorted(message_extras)))
            message[name] = draw(message_extras[name])
        return message

    numbers = st.integers() | st.floats() | st.sampled_from([0, -1, 1, 10**12, 2**63, 10**30])
    tools = st.fixed_dictionaries(
        {"type": st.just("function"), "function": st.fixed_dictionaries({"name": text})},
        optional={"parameters": values},
    )
    # The other fields, a few per request (drawing all of them every time is slow).
    extras = {
        "stream": st.booleans() | scalars,
        "stream_options": st.fixed_dictionaries({}, optional={"include_usage": scalars}),
        "max_tokens": numbers | scalars,
        "max_completion_tokens": numbers,
        "n": numbers | scalars,
        "temperature": numbers,
        "top_p": numbers,
        "stop": st.lists(text, max_size=6) | scalars,
        "tools": st.lists(tools, max_size=2) | scalars,
        "tool_choice": values,
        "response_format": st.fixed_dictionaries({"type": text}) | scalars,
        "seed": numbers,
        "metadata": values,
        "user": text,
    }

    @st.composite
    def requests(draw: st.DrawFn) -> dict[str, Any]:
        document: dict[str, Any] = {}
        # Mostly plausible, so that most examples get past the first checks to the deep ones.
        if draw(likely):
            model = st.just("gpt-4.1-mini") if draw(likely) else text | scalars
            document["model"] = draw(model)
        if draw(likely):
            plausible = st.lists(messages(), min_size=1, max_size=3)
            document["messages"] = draw(plausible if draw(likely) else values)
        for name in draw(st.lists(st.sampled_from(sorted(extras)), max_size=3, unique=True)):
            document[name] = draw(extras[name])
        if not draw(likely):
            document[draw(st.sampled_from(FORBIDDEN_FIELDS))] = draw(scalars)
        return document

    return st.one_of(requests(), requests(), requests(), values)


# Every string JSON text can carry, lone surrogates included (json.dumps escapes them as \udXXX).
json_documents = near_schema(st.text(max_size=16))
# Every string msgspec's JSON decoder can produce: it refuses lone surrogates (as escapes and as
# CESU-8 bytes, see test_arbitrary_bytes' examples), so decode_body never hands one to validate.
decoded_documents = near_schema(st.text(st.characters(exclude_categories=("Cs",)), max_size=16))


def assert_refusal_is_clean(error: GatewayError) -> None:
    assert 400 <= error.status < 500, error
    body = json.loads(error.body())
    assert set(body) == {"error"}
    detail = body["error"]
    assert set(detail) == {"message", "type", "param", "code"}
    assert isinstance(detail["message"], str) and detail["message"]
    assert detail["type"] == "invalid_request_error"
    assert detail["param"] is None or isinstance(detail["param"], str)
    assert detail["code"] is None or isinstance(detail["code"], str)


def decode_and_validate(body: bytes) -> ChatRequest | None:
    """Both steps as the gateway runs them; None when the input was refused cleanly."""
    try:
        return validate(decode_body(body))
    except GatewayError as error:
        assert_refusal_is_clean(error)
        return None


@FUZZ
@given(st.binary(max_size=512))
@example(b"\xff\xfe")
@example(b"[" * 5000)
@example(b'{"model": "m", "messages": [{"role": "user", "content": "\xed\xa0\x80"}]}')
def test_arbitrary_bytes(body: bytes) -> None:
    decode_and_validate(body)


@FUZZ
@given(json_documents, st.sampled_from([True, False]))
def test_json_text_near_the_schema(document: Any, ascii_only: bool) -> None:
    """Through JSON text, as a client sends it: lone surrogates arrive as \\udXXX escapes."""
    # json.dumps writes NaN and Infinity too, which are not JSON: the decoder must refuse them.
    body = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    request = decode_and_validate(body)
    if request is not None:
        assert isinstance(request, ChatRequest)
        assert request.messages and 1 <= len(request.model) <= 200


@FUZZ
@given(decoded_documents.filter(lambda document: isinstance(document, dict)))
@example({"model": "m", "messages": [{"role": "user", "content": "a\x00b\u202e\U0001f600"}]})
@example(
    {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": "data:image/png;base64,\u00e9"}],
            }
        ],
    }
)
def test_objects_straight_into_validate(document: Any) -> None:
    """validate() on objects as decode_body hands them over (any JSON value, not only dicts)."""
    try:
        request = validate(document)
    except GatewayError as error:
        assert_refusal_is_clean(error)
        return
    assert isinstance(request, ChatRequest)
    msgspec.json.encode(request)  # what the gateway accepted can be sent on


@FUZZ
@given(st.lists(data_urls(st.text(max_size=8)), min_size=1, max_size=3), st.booleans())
def test_data_url_images(urls: list[str], as_object: bool) -> None:
    """Image parts in an otherwise valid request: the data: URL checks (base64, type, magic
    bytes) see every kind of bad image and still refuse it cleanly."""
    images = [
        {"type": "image_url", "image_url": {"url": url} if as_object else url} for url in urls
    ]
    content = [{"type": "text", "text": "what is this?"}, *images]
    body = json.dumps({"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": content}]})
    request = decode_and_validate(body.encode("utf-8", "surrogatepass"))
    if request is not None:
        assert request.image_count() == len(urls)


@FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(ROLES), "content": st.text(max_size=20)},
        ),
        min_size=1,
        max_size=4,
    )
)
def test_well_formed_text_requests_are_accepted(conversation: list[dict[str, Any]]) -> None:
    """The other half of the property: the decoder does not refuse what it should take
    (any valid Unicode, NUL and RTL overrides included)."""
    document = {"model": "gpt-4.1-mini", "messages": conversation}
    try:
        body = json.dumps(document).encode()
        request = validate(decode_body(body))
    except GatewayError as error:
        has_surrogate = any(
            "\ud800" <= ch <= "\udfff" for message in conversation for ch in message["content"]
        )
        assert has_surrogate, error
        assert_refusal_is_clean(error)
        return
    assert [m.content for m in request.messages] == [m["content"] for m in conversation]
