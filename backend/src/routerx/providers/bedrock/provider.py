"""The Bedrock adapter: `POST {endpoint}/model/{modelId}/converse` and `/converse-stream`,
signed with SigV4 (service `bedrock`, the provider's `settings.region`).

The model id is what the model map names: a foundation model (`anthropic.claude-...`,
`meta.llama3-...`, `mistral....`) or an inference profile (`us.anthropic.claude-...`, or its
ARN). It is percent-encoded into the path (`:` and `/` included), as AWS signs it, and sent
exactly so. Errors keep their HTTP status for the breaker: 429 (throttling) and 5xx are
failures that move on to the next target; Bedrock's 424 (the model itself failed) is counted
as a 502 failure too; a 400 whose message says the input is too long for the model carries
`context_length_exceeded`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from urllib.parse import quote

import aiohttp
import msgspec
from yarl import URL

from routerx.providers.base import Call, Completion, ProviderConfig, StreamStats
from routerx.providers.bedrock.credentials import credential_source, signed_headers
from routerx.providers.bedrock.eventstream import stream_messages
from routerx.providers.bedrock.request import converse_body
from routerx.providers.bedrock.response import (
    StreamTranslator,
    completion_from_response,
    decode_event,
    decode_response,
)
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.errors import UpstreamError
from routerx.providers.http import (
    HttpClient,
    protocol_error,
    read_answer,
    stream_ended_early,
    stream_error,
)

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
MODEL_ERROR_STATUS = 424
EVENT_STREAM = "application/vnd.amazon.eventstream"


def region_of(config: ProviderConfig) -> str:
    region = config.settings.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        raise ProviderConfigError(
            f"providers.{config.name}.settings.region: expected an AWS region such as us-east-1"
        )
    return region


class BedrockProvider:
    def __init__(self, config: ProviderConfig, http: HttpClient) -> None:
        self.config = config
        self.http = http
        self.region = region_of(config)
        endpoint = config.base_url or f"https://bedrock-runtime.{self.region}.amazonaws.com"
        self.endpoint = endpoint.rstrip("/")
        self.credentials = credential_source(config)

    def url_for(self, model: str, *, stream: bool) -> URL:
        operation = "converse-stream" if stream else "converse"
        return URL(f"{self.endpoint}/model/{quote(model, safe='')}/{operation}", encoded=True)

    @asynccontextmanager
    async def _post(self, call: Call, *, stream: bool) -> AsyncIterator[aiohttp.ClientResponse]:
        name = self.config.name
        body = msgspec.json.encode(
            await converse_body(call.request, call.upstream_model, self.http.images)
        )
        url = self.url_for(call.upstream_model, stream=stream)
        credentials = await self.credentials.current(name)
        accept = EVENT_STREAM if stream else "application/json"
        headers = signed_headers(credentials, self.region, url, body, accept)
        try:
            async with self.http.post(self.config, url, headers, body) as response:
                yield response
        except UpstreamError as error:
            if error.status == MODEL_ERROR_STATUS:
                raise UpstreamError(
                    f"Upstream provider {name} returned 424 (the model failed).", status=502
                ) from None
            raise

    async def complete(self, call: Call) -> Completion:
        async with self._post(call, stream=False) as response:
            data = await read_answer(response, self.config.name)
        try:
            answer = decode_response(data)
        except msgspec.DecodeError:
            raise protocol_error(self.config.name) from None
        payload, usage, finish = completion_from_response(
            answer, call.request_id, call.upstream_model
        )
        return Completion(payload, usage, finish)

    async def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        name = self.config.name
        translator = StreamTranslator(call.request_id, call.upstream_model)
        async with (
            self._post(call, stream=True) as response,
            aclosing(stream_messages(response, name)) as messages,
        ):
            async for message in messages:
                if message.message_type != "event":
                    raise stream_error(name)
                try:
                    event = decode_event(message.payload)
                except msgspec.DecodeError:
                    raise protocol_error(name) from None
                for chunk in translator.on_event(message.event_type, event):
                    stats.chunks += 1
                    yield chunk
                stats.finish_reason = translator.finish_reason
                if translator.done:
                    stats.usage = translator.usage
                    return
        raise stream_ended_early(name)
