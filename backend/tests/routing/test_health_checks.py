"""Active health checks against a fake upstream on a real port: probes close an open breaker
without a user request, open one on failures, are skipped while it cools down, are counted and
accounted, and run on a jittered schedule."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from routerx.core.clock import FakeClock
from routerx.core.log_row import LogRow
from routerx.providers.base import Provider, ProviderConfig, Timeouts
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from routerx.routing.breaker import BreakerState, Outcome
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.breaker_registry import BreakerRegistry
from routerx.routing.health import (
    HealthCheckConfig,
    HealthChecker,
    breaker_key_of,
    health_config_of,
    jittered,
)
from routerx.telemetry import metrics
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario

BREAKER = {
    "consecutive_failures": 2,
    "open_s": 10,
    "max_open_s": 10,
    "jitter": 0,
    "half_open_probes": 2,
}
CHECKS = {"enabled": True, "interval_s": 5, "jitter": 0.2, "model": "probe-model"}


@pytest_asyncio.fixture(loop_scope="session")
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.running() as fake:
        yield fake


def _config(url: str, **checks: Any) -> ProviderConfig:
    return ProviderConfig(
        7,
        "probed",
        "openai_compatible",
        base_url=f"{url}/v1",
        settings={"breaker": BREAKER, "health_check": {**CHECKS, **checks}},
        timeouts=Timeouts(connect_s=1, total_s=2),
        secret="sk-probe-test",
    )


class Harness:
    def __init__(self, provider: Provider) -> None:
        self.clock = FakeClock()
        self.breakers = ProviderBreakers(BreakerRegistry(clock=self.clock, rng=lambda: 0.5))
        self.breakers.configure({provider.config.name: provider.config})
        self.rows: list[LogRow] = []
        self.checker = HealthChecker(self.breakers, self.rows.append)
        self.provider = provider
        checks = health_config_of(provider.config)
        assert checks is not None
        self.checks = checks
        self.key = breaker_key_of(provider.config, checks)  # the probed target's breaker

    def state(self) -> BreakerState:
        view = self.breakers.view(self.key)
        return view.state if view is not None else BreakerState.CLOSED

    def fail_requests(self, count: int) -> None:
        for _ in range(count):
            admission = self.breakers.admit(self.provider.config, self.key)
            self.breakers.record(self.provider.config, admission, Outcome.FAILURE, key=self.key)


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient()
    yield client
    await client.close()


@pytest.fixture
def harness(openai_fake: FakeOpenAI, http: HttpClient) -> Harness:
    return Harness(build_provider(_config(openai_fake.url), real_calls=True, http=http))


async def test_probes_close_an_open_breaker_without_user_requests(
    harness: Harness, openai_fake: FakeOpenAI
) -> None:
    harness.fail_requests(2)
    assert harness.state() is BreakerState.OPEN

    skipped = await harness.checker.probe_once(harness.provider, harness.checks)
    assert skipped.outcome == "skipped_open" and openai_fake.requests == []

    harness.clock.advance(11)  # cooled down: half-open, the probes are its trial calls
    for _ in range(2):
        result = await harness.checker.probe_once(harness.provider, harness.checks)
        assert result.outcome == "success"

    assert harness.state() is BreakerState.CLOSED
    sent = openai_fake.requests[-1].body
    assert sent["model"] == "probe-model" and sent["max_tokens"] == 1


async def test_failing_probes_open_the_breaker(harness: Harness, openai_fake: FakeOpenAI) -> None:
    openai_fake.always(Scenario.fail(503))

    for _ in range(2):
        assert (await harness.checker.probe_once(harness.provider, harness.checks)).outcome == (
            "failure"
        )

    assert harness.state() is BreakerState.OPEN


async def test_probes_are_counted_and_their_tokens_accounted(
    harness: Harness, openai_fake: FakeOpenAI
) -> None:
    counter = metrics.HEALTH_PROBES.labels("probed", "success")
    before = counter._value.get()
    openai_fake.script(Scenario(prompt_tokens=3, completion_tokens=1))

    await harness.checker.probe_once(harness.provider, harness.checks)

    assert counter._value.get() == before + 1
    row = harness.rows[-1]
    assert (row.api, row.provider, row.tenant_id, row.status) == (
        "health_check",
        "probed",
        None,
        200,
    )
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (3, 1, 4)


async def test_a_models_probe_lists_models(openai_fake: FakeOpenAI, http: HttpClient) -> None:
    provider = build_provider(_config(openai_fake.url, probe="models"), real_calls=True, http=http)
    harness = Harness(provider)

    result = await harness.checker.probe_once(provider, harness.checks)

    assert result.outcome == "success"
    assert openai_fake.requests[-1].method == "GET"
    assert openai_fake.requests[-1].path == "/v1/models"


def test_checks_are_off_unless_enabled_and_usable() -> None:
    base = _config("http://127.0.0.1:1")
    assert health_config_of(base) == HealthCheckConfig(
        enabled=True, interval_s=5, jitter=0.2, model="probe-model"
    )
    off = ProviderConfig(1, "p", "openai", settings={})
    assert health_config_of(off) is None
    disabled = ProviderConfig(1, "p", "openai", settings={"health_check": {"interval_s": 5}})
    assert health_config_of(disabled) is None
    models_on_gemini = ProviderConfig(
        1, "p", "gemini", settings={"health_check": {"enabled": True, "probe": "models"}}
    )
    assert health_config_of(models_on_gemini) is None
    no_model = ProviderConfig(1, "p", "openai", settings={"health_check": {"enabled": True}})
    assert health_config_of(no_model) is None


async def test_the_schedule_is_jittered_and_stops_cleanly(
    harness: Harness, openai_fake: FakeOpenAI
) -> None:
    delays: list[float] = []
    probed = asyncio.Event()

    async def record_sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 4:
            probed.set()
            await asyncio.Event().wait()  # park here until stopped
        await asyncio.sleep(0)

    checker = HealthChecker(
        harness.breakers, harness.rows.append, sleep=record_sleep, rng=random.Random(5)
    )
    checker.configure({"probed": harness.provider})
    assert checker.checked == ["probed"]
    await asyncio.wait_for(probed.wait(), 5)
    await checker.stop()

    assert 0 <= delays[0] < 5  # the first probe lands anywhere in the first interval
    assert all(4 <= delay <= 6 for delay in delays[1:])  # 5 s +- 20 %
    assert len(set(delays[1:])) > 1
    assert len(openai_fake.requests) == 3
    rng = random.Random(1)
    spread = [jittered(10, 0.5, rng) for _ in range(200)]
    assert 5 <= min(spread) < 6 and 14 < max(spread) <= 15
