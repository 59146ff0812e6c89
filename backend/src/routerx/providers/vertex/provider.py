"""The Vertex AI adapter: Gemini and Anthropic models under one Google Cloud project.

    {endpoint}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}
        :generateContent | :streamGenerateContent?alt=sse        (Gemini's own format)
    {endpoint}/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}
        :rawPredict | :streamRawPredict                          (Anthropic Messages)

A model whose id starts with `claude` is Anthropic's: the Messages body goes without `model`
(it is in the path) and with `anthropic_version: vertex-2023-10-16`. Both publishers' request
and answer translators are the Gemini and Anthropic adapters' own. The endpoint is
`https://{location}-aiplatform.googleapis.com` (`https://aiplatform.googleapis.com` for the
`global` location); every call carries `Authorization: Bearer <access token>` (vertex.auth).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

import msgspec

from routerx.providers.anthropic.provider import anthropic_stream
from routerx.providers.anthropic.request import anthropic_body
from routerx.providers.anthropic.response import completion_from_message, decode_message
from routerx.providers.base import Call, Completion, ProviderConfig, StreamStats
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.gemini.provider import gemini_completion, gemini_stream
from routerx.providers.gemini.request import gemini_body
from routerx.providers.http import HttpClient, protocol_error, read_answer, sse_events
from routerx.providers.vertex.auth import token_source

ANTHROPIC_VERSION = "vertex-2023-10-16"
API_VERSION = "v1"


def is_anthropic_model(model: str) -> bool:
    return model.startswith("claude")


def _setting(config: ProviderConfig, name: str) -> str:
    value = config.settings.get(name)
    if not isinstance(value, str) or not value:
        raise ProviderConfigError(f"providers.{config.name}.settings.{name}: required for vertex")
    return value


def default_endpoint(location: str) -> str:
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


class VertexProvider:
    def __init__(self, config: ProviderConfig, http: HttpClient) -> None:
        self.config = config
        self.http = http
        project = _setting(config, "project")
        location = _setting(config, "location")
        endpoint = (config.base_url or default_endpoint(location)).rstrip("/")
        self.publishers_url = (
            f"{endpoint}/{API_VERSION}/projects/{quote(project, safe='')}"
            f"/locations/{quote(location, safe='')}/publishers"
        )
        self.tokens = token_source(config)

    def url_for(self, model: str, *, stream: bool) -> str:
        model_path = quote(model.removeprefix("models/"), safe="@")
        if is_anthropic_model(model):
            method = "streamRawPredict" if stream else "rawPredict"
            return f"{self.publishers_url}/anthropic/models/{model_path}:{method}"
        if stream:
            return f"{self.publishers_url}/google/models/{model_path}:streamGenerateContent?alt=sse"
        return f"{self.publishers_url}/google/models/{model_path}:generateContent"

    async def _headers(self) -> dict[str, str]:
        token = await self.tokens.token(self.config.name)
        return {"content-type": "application/json", "authorization": f"Bearer {token}"}

    async def _body(self, call: Call, *, stream: bool) -> bytes:
        if is_anthropic_model(call.upstream_model):
            body: dict[str, Any] = anthropic_body(call.request, call.upstream_model, stream=stream)
            del body["model"]
            body["anthropic_version"] = ANTHROPIC_VERSION
            return msgspec.json.encode(body)
        return msgspec.json.encode(await gemini_body(call.request, self.http.images))

    async def complete(self, call: Call) -> Completion:
        body = await self._body(call, stream=False)
        url = self.url_for(call.upstream_model, stream=False)
        headers = await self._headers()
        async with self.http.post(self.config, url, headers, body) as response:
            data = await read_answer(response, self.config.name)
        if is_anthropic_model(call.upstream_model):
            return self._anthropic_completion(data, call)
        return gemini_completion(data, call, self.config.name)

    def _anthropic_completion(self, data: bytes, call: Call) -> Completion:
        try:
            message = decode_message(data)
        except msgspec.DecodeError:
            raise protocol_error(self.config.name) from None
        payload, usage, finish = completion_from_message(
            message, call.request_id, call.upstream_model
        )
        return Completion(payload, usage, finish)

    async def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        name = self.config.name
        translate = anthropic_stream if is_anthropic_model(call.upstream_model) else gemini_stream
        body = await self._body(call, stream=True)
        url = self.url_for(call.upstream_model, stream=True)
        headers = await self._headers()
        async with (
            self.http.post(self.config, url, headers, body) as response,
            aclosing(sse_events(response, name)) as events,
            aclosing(translate(events, call, stats, name)) as chunks,
        ):
            async for chunk in chunks:
                yield chunk
