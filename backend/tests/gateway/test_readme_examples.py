"""The README's curl examples, verbatim bodies, against a real gateway."""

from __future__ import annotations

import json

import aiohttp

from tests.gateway.conftest import AUTH, RunningGateway

NON_STREAM = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
}
STREAM = {
    "model": "gpt-4.1-mini",
    "stream": True,
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Stream me"}]}],
}
VISION = {
    "model": "gpt-4.1-mini",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": "https://example.com/cat.jpg"},
            ],
        }
    ],
}

EMBEDDINGS = {
    "model": "text-embedding-3-small",
    "input": ["RouterX routes requests", "to many providers"],
    "dimensions": 8,
}


async def test_non_stream_answers_in_openai_shape(gateway: RunningGateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.url + "/v1/chat/completions", json=NON_STREAM, headers=AUTH
        ) as response,
    ):
        body = await response.json()
        assert response.status == 200
        assert response.headers["x-routerx-provider"] == "mock-text"
        assert response.headers["x-request-id"]
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert "0 image(s)" in body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


async def test_same_request_same_answer(gateway: RunningGateway) -> None:
    answers = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(
                gateway.url + "/v1/chat/completions", json=NON_STREAM, headers=AUTH
            ) as response:
                body = await response.json()
                answers.append((body["choices"][0]["message"]["content"], body["usage"]))
    assert answers[0] == answers[1]


async def test_stream_is_sse_ending_with_done(gateway: RunningGateway) -> None:
    events: list[bytes] = []
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.url + "/v1/chat/completions", json=STREAM, headers=AUTH) as response,
    ):
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.content:
            if line.strip():
                events.append(line.strip())
    assert events[-1] == b"data: [DONE]"
    chunks = [json.loads(e.removeprefix(b"data: ")) for e in events[:-1]]
    assert len(chunks) >= 4
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.startswith("Mock answer from mock-text")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"] for c in chunks), "usage chunk sent without include_usage"


async def test_stream_include_usage_sends_usage_chunk(gateway: RunningGateway) -> None:
    body = {**STREAM, "stream_options": {"include_usage": True}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.url + "/v1/chat/completions", json=body, headers=AUTH) as response,
    ):
        lines = [line.strip() async for line in response.content if line.strip()]
    last = json.loads(lines[-2].removeprefix(b"data: "))
    assert last["choices"] == []
    assert last["usage"]["total_tokens"] > 0


async def test_vision_goes_to_the_vision_provider(gateway: RunningGateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.url + "/v1/chat/completions", json=VISION, headers=AUTH) as response,
    ):
        body = await response.json()
        assert response.status == 200
        assert response.headers["x-routerx-provider"] == "mock-vision"
    assert "1 image(s)" in body["choices"][0]["message"]["content"]


async def test_openai_object_image_url_and_data_url(gateway: RunningGateway) -> None:
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    body = {
        "model": "gpt-4.1-mini",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": png}},
                ],
            }
        ],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.url + "/v1/chat/completions", json=body, headers=AUTH) as response,
    ):
        answer = await response.json()
        assert response.status == 200, answer
    assert "2 image(s)" in answer["choices"][0]["message"]["content"]


async def test_models_lists_what_the_tenant_may_use(gateway: RunningGateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.url + "/v1/models", headers=AUTH) as response,
    ):
        body = await response.json()
    assert response.status == 200
    assert [m["id"] for m in body["data"]] == ["gpt-4.1-mini", "text-embedding-3-small"]


async def test_health_and_readiness(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(gateway.url + "/healthz") as response:
            assert response.status == 200
        async with session.get(gateway.url + "/readyz") as response:
            body = await response.json()
            assert response.status == 200
    assert body["dependencies"]["database"] == "ok"


async def test_embeddings_example_answers_from_the_demo_mock(gateway: RunningGateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.url + "/v1/embeddings", json=EMBEDDINGS, headers=AUTH) as response,
    ):
        body = await response.json()
        assert response.status == 200, body
        assert response.headers["x-routerx-provider"] == "mock-embeddings"
    assert body["object"] == "list" and body["model"] == "text-embedding-3-small"
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(len(item["embedding"]) == 8 for item in body["data"])
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
