"""OpenTelemetry: a server span per request and a client span per upstream attempt, with the
GenAI semantic-convention attributes. Exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
is set; otherwise nothing is instrumented and the hot path pays nothing.

No span attribute ever holds prompt or response text, image data or URLs.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from routerx.providers.base import ProviderConfig
from routerx.providers.errors import UpstreamError
from routerx.wire.openai import Usage

SERVICE_NAME = "routerx-gateway"
GEN_AI_SYSTEMS = {
    "openai": "openai",
    "openai_compatible": "openai",
    "azure": "az.ai.openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "mock": "routerx.mock",
}
_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None


def configure_tracing(endpoint: str, processor: SpanProcessor | None = None) -> bool:
    """Install a tracer provider; returns whether tracing is on. Tests pass their processor."""
    global _tracer, _provider  # noqa: PLW0603 - the process's one tracer, set at start-up
    if processor is None and not endpoint:
        _tracer = _provider = None
        return False
    if processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        )
    _provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    _provider.add_span_processor(processor)
    _tracer = _provider.get_tracer("routerx")
    return True


def tracer_provider() -> TracerProvider | None:
    return _provider


def enabled() -> bool:
    return _tracer is not None


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def annotate_server_span(request_id: str, tenant_id: int | None) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("routerx.request_id", request_id)
        if tenant_id is not None:
            span.set_attribute("routerx.tenant_id", tenant_id)


def start_attempt(provider: ProviderConfig, request_model: str, hedged: bool) -> Span | None:
    if _tracer is None:
        return None
    return _tracer.start_span(
        f"chat {request_model}",
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.system": GEN_AI_SYSTEMS.get(provider.type, provider.type),
            "gen_ai.request.model": request_model,
            "routerx.provider": provider.name,
            "routerx.hedged": hedged,
        },
    )


def finish_attempt(
    span: Span | None,
    response_model: str,
    usage: Usage | None,
    finish_reason: str | None,
) -> None:
    if span is None:
        return
    span.set_attribute("gen_ai.response.model", response_model)
    if usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
    if finish_reason:
        span.set_attribute("gen_ai.response.finish_reasons", [finish_reason])
    span.end()


def fail_attempt(span: Span | None, error: BaseException) -> None:
    if span is None:
        return
    kind = error.kind.value if isinstance(error, UpstreamError) else type(error).__name__
    span.set_attribute("error.type", kind)
    if isinstance(error, UpstreamError) and error.status is not None:
        span.set_attribute("http.response.status_code", error.status)
    span.set_status(Status(StatusCode.ERROR))
    span.end()
