"""/metrics after a mix of requests, on a gateway with two workers (multiprocess mode)."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario
from tests.routing.failover_env import MODEL, chat, configure, start_gateway
from tests.support.redis_server import private_redis

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> tuple[str, Samples]:
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            samples[key] = samples.get(key, 0.0) + sample.value
    return text, samples


async def scrape_when_logged(url: str, rows: int, deadline_s: float = 5.0) -> tuple[str, Samples]:
    """Rows are written off the hot path: scrape until the writer has caught up."""
    started = time.monotonic()
    while True:
        text, samples = await scrape(url)
        if value(samples, "routerx_request_log_rows_written_total") >= rows:
            return text, samples
        assert time.monotonic() - started < deadline_s, "request-log rows not written"
        await asyncio.sleep(0.05)


def value(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_metrics_reflect_the_requests_across_workers() -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    database_url = await create_pg_database()
    try:
        async with FakeOpenAI.running() as primary, FakeOpenAI.running() as secondary:
            await configure(database_url, primary, secondary)
            async with private_redis() as redis:
                gateway = await start_gateway(
                    database_url, REDIS_URL=redis.url, GATEWAY_WORKERS="2"
                )
                try:
                    body = {"model": MODEL, "messages": [{"role": "user", "content": canary}]}
                    primary.script(Scenario(prompt_tokens=10, completion_tokens=5))
                    for _ in range(6):
                        assert (await chat(gateway.url, body)).status == 200
                    primary.reset()
                    primary.script(Scenario.fail(500))  # one fallback
                    fallback = await chat(gateway.url, body)
                    assert fallback.headers["x-routerx-provider"] == "secondary"
                    assert (await chat(gateway.url, body, stream=True)).status == 200
                    primary.script(Scenario.fail(400))  # one upstream client error
                    assert (await chat(gateway.url, body)).status == 400
                    assert (await chat(gateway.url, {**body, "model": canary})).status == 404
                    text, samples = await scrape_when_logged(gateway.url, rows=10)
                finally:
                    gateway.stop()
    finally:
        await drop_pg_database(database_url)

    assert canary not in text
    total = value(samples, "routerx_requests_total")
    assert total == 10, "requests from both workers are aggregated"
    assert (
        value(
            samples,
            "routerx_requests_total",
            api="chat",
            provider="primary",
            status="200",
            model=MODEL,
            capability="text",
        )
        == 7
    )
    assert value(samples, "routerx_requests_total", provider="secondary", status="200") == 1
    assert value(samples, "routerx_requests_total", status="400") == 1
    assert value(samples, "routerx_requests_total", status="404", provider="", model="") == 1
    assert value(samples, "routerx_fallbacks_total", provider="secondary", model=MODEL) == 1
    assert (
        value(samples, "routerx_upstream_attempts_total", provider="primary", outcome="failure")
        == 1
    )
    assert (
        value(
            samples, "routerx_upstream_attempts_total", provider="primary", outcome="client_error"
        )
        == 1
    )
    assert value(samples, "routerx_request_duration_seconds_count", stream="false") == 8
    assert value(samples, "routerx_request_duration_seconds_count", stream="true") == 1
    assert value(samples, "routerx_request_duration_seconds_count", api="chat") == 9
    assert value(samples, "routerx_time_to_first_token_seconds_count", provider="primary") == 1
    assert value(samples, "routerx_gateway_overhead_seconds_count") == 9
    assert value(samples, "routerx_tokens_total", provider="primary", type="prompt") >= 10
    assert value(samples, "routerx_tokens_total", provider="primary", type="completion") >= 5
    assert value(samples, "routerx_request_log_rows_written_total") == 10
    assert value(samples, "routerx_request_log_rows_dropped_total") == 0
