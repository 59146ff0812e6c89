"""A real gateway in front of two fake OpenAI-compatible upstreams and a fake Anthropic, with
rules for mid-stream rescue and for failover conduct.

    rescue-model     oa -> an -> ob, stream_rescue: continue
    refusal-model    oa -> ob (refuses prefills when scripted) -> nopre (no prefill), continue
    plain-model      oa -> ob, the default (an error event after the commitment)
    anthropic-first  an -> ob
    stall-model      slow (first_token_s and total_s 60) -> ob, within REQUEST_DEADLINE_S
    tiered-model     oa's big model -> oa's small model (one provider, two targets)
    fail-over-model  oa -> ob, on_transient: fail_over (the others retry the same target once)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule, Tenant
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.routing.failover_env import AUTH, INTERNAL
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

ANTHROPIC_KEY = "sk-ant-test-rescue"
DEADLINE_S = 6.0
FAST = {
    "timeouts": {"connect_s": 1, "first_token_s": 1, "idle_s": 1, "total_s": 3},
    "breaker": {"consecutive_failures": 3, "open_s": 30, "max_open_s": 60},
}
SLOW = {**FAST, "timeouts": {"connect_s": 1, "first_token_s": 60, "idle_s": 60, "total_s": 60}}
PROVIDERS = ("oa", "an", "ob", "slow", "nopre")
TEXT = "Héllo wörld, the answer is forty-two: ünïcode survives the seam."
FAKE_ANSWER = "Hello from the fake upstream."  # the fakes' default text
CONTEXT_TOO_LONG = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


def target(provider: str, model: str, tier: int) -> dict[str, Any]:
    return {"provider": provider, "model": model, "weight": 1, "tier": tier}


async def configure(database_url: str, a: FakeOpenAI, b: FakeOpenAI, an: FakeAnthropic) -> None:
    await prepare(database_url)
    async with connected(database_url):
        for name, fake, settings in (
            ("oa", a, FAST),
            ("ob", b, FAST),
            ("slow", a, SLOW),
            ("nopre", b, {**FAST, "assistant_prefill": False}),
        ):
            await Provider.create(
                name=name,
                type="openai_compatible",
                base_url=fake.url + "/v1",
                capabilities=["text", "tools"],
                settings=settings,
            )
        await Provider.create(
            name="an",
            type="anthropic",
            base_url=an.url,
            capabilities=["text", "tools"],
            secret_env="RX_TEST_ANTHROPIC_KEY",
            settings=FAST,
        )
        rules = {
            "rescue-model": ([("oa", "up-a"), ("an", "claude-up"), ("ob", "up-b")], "continue"),
            "refusal-model": (
                [("oa", "up-a"), ("ob", "up-refuse"), ("nopre", "up-nopre")],
                "continue",
            ),
            "plain-model": ([("oa", "up-a"), ("ob", "up-b")], "error"),
            "anthropic-first": ([("an", "claude-up"), ("ob", "up-b")], "error"),
            "stall-model": ([("slow", "up-slow"), ("ob", "up-b")], "error"),
            "tiered-model": ([("oa", "up-big"), ("oa", "up-small")], "error"),
            "fail-over-model": ([("oa", "up-a"), ("ob", "up-b")], "error"),
        }
        for model, (targets, rescue) in rules.items():
            await RoutingRule.create(
                name=model,
                model_pattern=model,
                capability="text",
                stream_rescue=rescue,
                on_transient="fail_over" if model == "fail-over-model" else "retry_same",
                targets=[target(p, m, tier) for tier, (p, m) in enumerate(targets)],
            )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()


@dataclass
class RescueEnv:
    gateway: ServerProcess
    database_url: str
    a: FakeOpenAI
    b: FakeOpenAI
    an: FakeAnthropic

    def reset(self) -> None:
        for fake in (self.a, self.b, self.an):
            fake.reset()

    async def reset_breakers(self) -> None:
        async with aiohttp.ClientSession() as session:
            for name in PROVIDERS:
                async with session.post(
                    self.gateway.url + f"/internal/breakers/{name}/reset", headers=INTERNAL
                ) as response:
                    assert response.status == 204


@asynccontextmanager
async def rescue_env(directory: Path, **env: str) -> AsyncIterator[RescueEnv]:
    database_url = f"sqlite://{directory / 'routerx.sqlite3'}"
    async with (
        FakeOpenAI.running() as a,
        FakeOpenAI.running() as b,
        FakeAnthropic.running() as an,
    ):
        await configure(database_url, a, b, an)
        settings = base_env(
            database_url,
            ENABLE_REAL_CALLS="true",
            RX_TEST_ANTHROPIC_KEY=ANTHROPIC_KEY,
            REQUEST_DEADLINE_S=str(DEADLINE_S),
            **env,
        )
        gateway = await start_server("gateway", settings)
        try:
            yield RescueEnv(gateway, database_url, a, b, an)
        finally:
            gateway.stop()


@dataclass
class Streamed:
    status: int
    headers: dict[str, str]
    events: list[Any]  # decoded `data:` payloads, "[DONE]" as a string

    @property
    def text(self) -> str:
        return "".join(
            (choice.get("delta") or {}).get("content") or ""
            for event in self.events
            if isinstance(event, dict)
            for choice in event.get("choices") or ()
        )

    @property
    def errors(self) -> list[Any]:
        return [e for e in self.events if isinstance(e, dict) and "error" in e]


async def stream_chat(url: str, model: str, **extra: Any) -> Streamed:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "hello"}],
        "stream": True,
        **extra,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/v1/chat/completions", json=body, headers=AUTH) as response,
    ):
        headers = {k.lower(): v for k, v in response.headers.items()}
        raw = await response.read()
    events: list[Any] = []
    for line in raw.decode().split("\n"):
        if line.startswith("data: "):
            payload = line.removeprefix("data: ")
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return Streamed(response.status, headers, events)


async def chat(url: str, model: str, **extra: Any) -> tuple[int, dict[str, str], Any]:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], **extra}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/v1/chat/completions", json=body, headers=AUTH) as response,
    ):
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.status, headers, await response.json()
