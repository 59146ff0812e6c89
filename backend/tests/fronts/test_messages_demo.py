"""The demo data answers Anthropic model names: `claude-*` text, vision and tools go to the mocks,
and the mock's answer, translated back, is the same for the same request."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

from routerx.auth.api_keys import digest_key
from routerx.core.snapshot import ConfigSnapshot
from routerx.gateway.fronts.messages import MessagesFront
from routerx.providers.base import Call
from routerx.providers.mock import MockProvider
from routerx.routing.capabilities import needs_of
from routerx.routing.rules import plan_route
from routerx.settings import Settings
from routerx.storage.seed import DEMO_KEY
from routerx.storage.snapshot_loader import load_snapshot
from tests.support.database import connected, prepare

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode()
TOOL = {"name": "get_weather", "input_schema": {"type": "object"}}
FRONT = MessagesFront()


async def seeded_snapshot(tmp_path: Path) -> ConfigSnapshot:
    url = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    await prepare(url)
    async with connected(url):
        return await load_snapshot(Settings(database_url=url))


def request(content: Any, **fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": content}],
        **fields,
    }


async def test_claude_names_route_to_the_mocks_for_the_demo_key(tmp_path: Path) -> None:
    snapshot = await seeded_snapshot(tmp_path)
    tenant = snapshot.keys_by_digest[digest_key(DEMO_KEY)].tenant
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    cases = [
        (request("Hello"), "demo-claude-text", "mock-text"),
        (
            request([{"type": "text", "text": "What is this?"}, image]),
            "demo-claude-vision",
            "mock-vision",
        ),
        (request("Weather?", tools=[TOOL]), "demo-claude-text", "mock-text"),
    ]
    for raw, rule, provider in cases:
        canonical = FRONT.decode(raw)
        plan = plan_route(
            snapshot, canonical.request.model, tenant, needs_of(canonical.request), random.Random(1)
        )
        assert plan.rule.name == rule
        assert plan.targets[0].provider.name == provider
        mock = MockProvider(plan.targets[0].provider)
        call = Call(canonical.request, canonical.raw, plan.targets[0].model, "req-demo")
        answers = [FRONT.encode_completion(await mock.complete(call), canonical) for _ in range(2)]
        assert answers[0] == answers[1]
        message = json.loads(answers[0])
        assert message["type"] == "message" and message["stop_reason"] == "end_turn"
        assert message["content"][0]["text"].startswith(f"Mock answer from {provider}")
        assert message["usage"]["output_tokens"] > 0
