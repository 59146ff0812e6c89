"""`make run`'s demo has a cost out of the box: the mocks stand in for gpt-4.1-mini, the claude-*
models and text-embedding-3-small, and are priced as those models."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from routerx.storage.models import Tenant
from routerx.storage.seed import DEMO_KEY
from tests.spend.support import logged_spend
from tests.support.database import connected, prepare
from tests.support.processes import base_env, start_server

BEARER = {"Authorization": f"Bearer {DEMO_KEY}"}
CALLS = [
    (
        "/v1/chat/completions",
        BEARER,
        {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]},
    ),
    (
        "/v1/messages",
        {"x-api-key": DEMO_KEY, "anthropic-version": "2023-06-01"},
        {
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}],
        },
    ),
    ("/v1/embeddings", BEARER, {"model": "text-embedding-3-small", "input": "hello there"}),
]


async def test_demo_traffic_is_priced_as_the_models_the_mocks_stand_in_for(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    await prepare(database_url)
    gateway = await start_server("gateway", base_env(database_url))
    try:
        async with aiohttp.ClientSession() as session:
            for path, headers, body in CALLS:
                async with session.post(gateway.url + path, json=body, headers=headers) as answer:
                    assert answer.status == 200, await answer.text()
        async with connected(database_url):
            demo = await Tenant.get(name="demo")
        rows = await logged_spend(database_url, demo.id, len(CALLS))
    finally:
        gateway.stop()
    by_api = {row.api: row for row in rows}
    assert set(by_api) == {"chat", "messages", "embeddings"}
    chat, messages, embeddings = by_api["chat"], by_api["messages"], by_api["embeddings"]
    assert chat.cost_picousd == chat.prompt_tokens * 400_000 + chat.completion_tokens * 1_600_000
    # claude-sonnet-4-5 at $3 / $15 per million tokens
    assert messages.cost_picousd == (
        messages.prompt_tokens * 3_000_000 + messages.completion_tokens * 15_000_000
    )
    assert embeddings.cost_picousd == embeddings.prompt_tokens * 20_000  # $0.02 per million
    assert all(row.cost_picousd and row.cost_picousd > 0 for row in rows)
