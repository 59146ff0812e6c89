"""GET /v1/models: the models the caller's tenant may use."""

from __future__ import annotations

import time

import msgspec
from starlette.types import Receive, Scope, Send

from routerx.gateway import errors
from routerx.gateway.asgi_io import send_bytes, send_error
from routerx.gateway.exchange import request_id_of
from routerx.gateway.fronts.chat import ChatFront
from routerx.gateway.pipeline import authenticate
from routerx.gateway.state import GatewayState
from routerx.routing.rules import visible_models
from routerx.wire.openai import ModelCard, ModelList

STARTED = int(time.time())


class ModelsEndpoint:
    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.front = ChatFront()  # the OpenAI surfaces' Bearer key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"x-request-id", request_id_of(scope).encode())]
        try:
            if scope["method"] != "GET":
                raise errors.method_not_allowed()
            key = authenticate(self.state, self.front, scope)
        except errors.GatewayError as error:
            await send_error(send, error, headers)
            return
        cards = [
            ModelCard(name, STARTED) for name in visible_models(self.state.snapshot, key.tenant)
        ]
        await send_bytes(send, 200, msgspec.json.encode(ModelList(cards)), headers)
