"""Spans: a server span per request and an attempt span with GenAI attributes; no prompt text."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
from hypercorn.asyncio import serve
from hypercorn.config import Config
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from routerx.gateway.app import build_app
from routerx.settings import Settings
from routerx.storage.models import RequestLog
from routerx.telemetry import tracing
from tests.gateway.conftest import AUTH
from tests.routing.failover_env import log_row
from tests.support.database import prepare
from tests.support.processes import free_port


async def test_spans_carry_genai_attributes_and_no_prompt(tmp_path: Path) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    exporter = InMemorySpanExporter()
    settings = Settings(
        database_url=database_url,
        jwt_secret="test-secret-not-the-example",
        log_flush_interval_s=0.05,
    )
    app = build_app(settings, span_processor=SimpleSpanProcessor(exporter))
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(10):
                while True:
                    try:
                        async with session.get(url + "/readyz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05)
            ids = []
            for stream in (False, True):
                body = {
                    "model": "gpt-4.1-mini",
                    "stream": stream,
                    "messages": [{"role": "user", "content": canary}],
                }
                async with session.post(
                    url + "/v1/chat/completions", json=body, headers=AUTH
                ) as response:
                    assert response.status == 200
                    await response.read()
                    ids.append(response.headers["x-request-id"])
        rows = [await log_row(database_url, request_id) for request_id in ids]
    finally:
        stop.set()
        await server
        tracing.configure_tracing("")  # leave the process without a tracer

    spans = exporter.get_finished_spans()
    for span in spans:
        assert canary not in repr(dict(span.attributes or {}))
        assert canary not in span.name
    attempts = [s for s in spans if s.kind is SpanKind.CLIENT and s.name.startswith("chat ")]
    assert len(attempts) == 2
    for span in attempts:
        attributes = dict(span.attributes or {})
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.system"] == "routerx.mock"
        assert attributes["gen_ai.request.model"] == "gpt-4.1-mini"
        assert attributes["gen_ai.response.model"] == "gpt-4.1-mini"
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    by_request = {dict(s.attributes or {}).get("routerx.request_id"): s for s in servers}
    for request_id, row in zip(ids, rows, strict=True):
        server_span = by_request[request_id]
        assert row.trace_id == format(server_span.context.trace_id, "032x")
        child = next(s for s in attempts if s.context.trace_id == server_span.context.trace_id)
        assert child.parent is not None and child.parent.span_id == server_span.context.span_id
    assert isinstance(rows[0], RequestLog)
