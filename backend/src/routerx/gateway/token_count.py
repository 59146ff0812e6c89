"""POST /v1/messages/count_tokens: the Messages API's prompt-size estimate.

No upstream is called (the count is routerx.wire.tokens' estimate, see fronts.messages.
token_count), so no request-log row is written; the key, the tenant's model list and a routing
rule for the model are checked as for `/v1/messages`, errors in Anthropic's shape.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import Receive, Scope, Send

from routerx.auth.api_keys import digest_key
from routerx.gateway import errors
from routerx.gateway.admission import SERVER_BUSY, Admission, read_admitted_body
from routerx.gateway.asgi_io import (
    ClientDisconnected,
    discard_body,
    header,
    send_bytes,
)
from routerx.gateway.exchange import request_id_of
from routerx.gateway.fronts.messages import MessagesFront
from routerx.gateway.fronts.messages.token_count import token_count_body
from routerx.gateway.request_shape import decode_checked
from routerx.gateway.state import GatewayState
from routerx.routing.rules import matching_rules, model_allowed

log = logging.getLogger("routerx.gateway")
LINGER_S = 2.0  # reading what is left of a refused body before answering (see discard_body)


class CountTokensEndpoint:
    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.front = MessagesFront()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"x-request-id", request_id_of(scope).encode())]
        admission = Admission(self.state.body_budget)
        try:
            body = await self._answer(scope, receive, admission)
        except errors.GatewayError as error:
            admission.release()
            if error.status == 413:
                await discard_body(receive, LINGER_S)
            status, payload = self.front.error_body(error)
            extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
            await send_bytes(send, status, payload, [*headers, *extra])
            if error.code == SERVER_BUSY:
                await discard_body(receive, LINGER_S)
            return
        except ClientDisconnected:
            return
        except Exception:
            log.exception("unhandled error in count_tokens")
            status, payload = self.front.error_body(errors.internal_error())
            await send_bytes(send, status, payload, headers)
            return
        finally:
            admission.release()
        await send_bytes(send, 200, body, headers)

    async def _answer(self, scope: Scope, receive: Receive, admission: Admission) -> bytes:
        if scope["method"] != "POST":
            raise errors.method_not_allowed()
        key = self.front.api_key(scope)
        if key is None:
            raise errors.invalid_api_key("Missing API key: send `x-api-key: <key>`.")
        entry = self.state.snapshot.keys_by_digest.get(digest_key(key)) if key else None
        if entry is None:
            raise errors.invalid_api_key()
        content_type = header(scope, b"content-type") or b""
        if not content_type.split(b";", 1)[0].strip().lower() == b"application/json":
            raise errors.unsupported_media_type()
        settings = self.state.settings
        try:
            async with asyncio.timeout(settings.body_read_timeout_s):
                raw_body = await read_admitted_body(
                    receive, scope, settings.max_body_bytes, admission
                )
        except TimeoutError:
            raise errors.body_too_slow(settings.body_read_timeout_s) from None
        raw = await decode_checked(raw_body)
        answer = token_count_body(raw)
        model = raw["model"]  # validated by token_count_body
        tenant = entry.tenant
        if not model_allowed(tenant, model) or not matching_rules(
            self.state.snapshot, model, tenant, "text"
        ):
            raise errors.model_not_found(model)
        return answer
