"""Golden fixtures: the exact upstream request each adapter sends, and the exact OpenAI answer
it makes of each provider's documented response shapes (golden/requests, golden/responses)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from routerx.providers.http import HttpClient
from routerx.wire.openai import Usage
from tests.fakes.upstream import FakeUpstream, Scenario, sse
from tests.providers.harness import build_harness

GOLDEN = Path(__file__).parent / "golden"
GENERATED_CALL_ID = re.compile(r"^call_[0-9a-f]{24}$")
OPENAI_STREAM = json.loads((GOLDEN / "responses/openai/stream_text.json").read_text())
_REQUEST: dict[str, Any] = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "user", "content": "Hi"}],
}


def _cases(kind: str) -> list[Any]:
    """(adapter, golden) for every file under golden/<kind>/<adapter>/."""
    return [
        pytest.param(
            path.parent.name, json.loads(path.read_text()), id=f"{path.parent.name}/{path.stem}"
        )
        for path in sorted((GOLDEN / kind).glob("*/*.json"))
    ]


def _comparable(value: Any) -> Any:
    """Drops what changes per run: `created` timestamps and ids RouterX generates."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k != "created"}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, str) and GENERATED_CALL_ID.match(value):
        return "call_<generated>"
    return value


@pytest.mark.parametrize(("adapter", "golden"), _cases("requests"))
async def test_upstream_request(
    adapter: str, golden: dict[str, Any], fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    harness = build_harness(adapter, fakes[adapter], http_client)

    if golden["request"].get("stream"):
        await harness.stream(golden["request"])
    else:
        await harness.complete(golden["request"])

    sent = harness.sent
    assert {"path": sent.path, "query": sent.query, "body": sent.body} == golden["upstream"]


@pytest.mark.parametrize(("adapter", "golden"), _cases("responses"))
async def test_answer_translation(
    adapter: str, golden: dict[str, Any], fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    harness = build_harness(adapter, fakes[adapter], http_client)

    if "upstream_sse" in golden:
        frames = [
            sse(e["data"].encode() if e["data"] == "[DONE]" else e["data"], e["event"])
            for e in golden["upstream_sse"]
        ]
        harness.fake.script(Scenario(frames=frames))
        stats, _ = await harness.stream({**_REQUEST, "stream": True})
        chunks = [json.loads(chunk) for chunk in harness.chunks]
        assert _comparable(chunks) == golden["openai_chunks"]
        for chunk in chunks:  # what the official SDK accepts, strictly validated
            ChatCompletionChunk.model_validate(chunk)
        assert stats.usage is not None
        assert stats.usage == msgspec.convert(chunks[-1]["usage"], Usage)
    else:
        harness.fake.script(Scenario(body=golden["upstream"]))
        completion, _ = await harness.complete(_REQUEST)
        answer = json.loads(completion.body)
        assert _comparable(answer) == golden["openai"]
        ChatCompletion.model_validate(answer)
        assert completion.usage == msgspec.convert(answer["usage"], Usage)
        assert completion.finish_reason == answer["choices"][0]["finish_reason"]


async def test_openai_relays_upstream_bytes_unchanged(
    openai_fake: FakeUpstream, http_client: HttpClient
) -> None:
    """The pass-through path neither re-encodes answers nor forwards `[DONE]`."""
    golden = OPENAI_STREAM
    payloads = [json.dumps(e["data"]).encode() for e in golden["upstream_sse"][:-1]]
    frames = [b"data: " + p + b"\n\n" for p in payloads] + [b"data: [DONE]\n\n"]
    openai_fake.script(Scenario(frames=frames))
    harness = build_harness("openai", openai_fake, http_client)

    await harness.stream({**_REQUEST, "stream": True})

    assert harness.chunks == payloads
