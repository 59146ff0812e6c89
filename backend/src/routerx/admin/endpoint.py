"""One admin API operation: its route, role, input and output types, and how it is served.

The same Endpoint drives the Starlette route and the OpenAPI document, so the document cannot
promise another input, output or role than the route enforces. A request is checked in a fixed
order: session (401), cross-site proof for cookie sessions (403), role (403), path (404), query
and body (400/413/415), then the handler.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import msgspec
import msgspec.inspect
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from routerx.admin.csrf import check_same_origin
from routerx.admin.errors import ApiError, from_validation_error, invalid, not_found, server_error
from routerx.admin.services import AdminServices
from routerx.admin.sessions import Role, Session, authenticate, authorize
from routerx.storage.models import AdminUser

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)
MAX_BODY_BYTES = 1024 * 1024
MAX_ID = 2**31 - 1
STRING_PARAM_LENGTHS = {"request_id": 64, "provider": 100}  # their columns' lengths
_PATH_PARAM = re.compile(r"{(?P<name>\w+)(?::(?P<kind>\w+))?}")


@dataclass(slots=True)
class Call:
    """Everything a handler gets: decoded, validated input and the caller's session."""

    request: Request
    services: AdminServices
    session: Session | None
    path: dict[str, Any]
    query: Any
    body: Any

    @property
    def user(self) -> AdminUser:
        assert self.session is not None, "public endpoints have no user"
        return self.session.user

    @property
    def actor(self) -> str:
        return self.user.username


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # Starlette syntax: /api/v1/tenants/{tenant_id:int}
    handler: Handler
    role: Role
    summary: str
    tag: str
    response: Any = None  # the 2xx body type; None with status 204
    status: int = 200
    body: type[msgspec.Struct] | None = None
    query: type[msgspec.Struct] | None = None
    errors: tuple[int, ...] = ()  # statuses beyond those implied by role, path, body

    @property
    def openapi_path(self) -> str:
        return _PATH_PARAM.sub(r"{\g<name>}", self.path)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [(m["name"], m["kind"] or "str") for m in _PATH_PARAM.finditer(self.path)]

    @property
    def error_statuses(self) -> list[int]:
        statuses = set(self.errors)
        if self.body is not None or self.query is not None:
            statuses.add(400)
        if self.body is not None:
            statuses |= {413, 415}
        if self.role != "public":
            statuses.add(401)
        if self.role == "admin" or (self.role != "public" and self.method != "GET"):
            statuses.add(403)  # the role, or a cookie session's missing cross-site proof
        if self.path_params:
            statuses.add(404)
        return sorted(statuses)

    async def serve(self, request: Request, services: AdminServices) -> Response:
        try:
            return await self._serve(request, services)
        except ApiError:
            raise
        except Exception as exc:  # answered here so that no log line quotes its message
            return server_error(request, exc)

    async def _serve(self, request: Request, services: AdminServices) -> Response:
        session = None
        if self.role != "public":
            session = await authenticate(request, services.settings.jwt_secret)
            if session.from_cookie:
                check_same_origin(request, services.settings)
            authorize(session, self.role)
        path = self._path(request)
        query = read_query(request, self.query) if self.query is not None else None
        body = (
            await read_body(request, self.body, services.settings.body_read_timeout_s)
            if self.body is not None
            else None
        )
        result = await self.handler(Call(request, services, session, path, query, body))
        if isinstance(result, Response):
            return result
        if self.status == 204:
            return Response(status_code=204)
        return json_response(result, self.status)

    def _path(self, request: Request) -> dict[str, Any]:
        values = dict(request.path_params)
        for name, kind in self.path_params:
            value = values[name]
            if kind == "int" and not 1 <= value <= MAX_ID:
                raise not_found(name.removesuffix("_id").replace("_", " "), value)
            if kind == "str" and ("\x00" in value or len(value) > STRING_PARAM_LENGTHS[name]):
                raise not_found(name.replace("_", " "), "with that name")
        return values


def routes(endpoints: Iterable[Endpoint], services: AdminServices) -> list[Route]:
    """One Starlette route per path, dispatching on the method, so that a 405 lists every
    method the path allows."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint

    def route(path: str, methods: dict[str, Endpoint]) -> Route:
        async def serve(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await methods[method].serve(request, services)

        return Route(path, serve, methods=list(methods))

    return [route(path, methods) for path, methods in by_path.items()]


def given_fields(update: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body names (unnamed fields are msgspec.UNSET)."""
    return {
        name: value
        for name in update.__struct_fields__
        if (value := getattr(update, name)) is not msgspec.UNSET
    }


def json_response(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


def read_query(request: Request, into: type[S]) -> S:
    raw: dict[str, Any] = {}
    kinds = _query_kinds(into)
    for key, value in request.query_params.multi_items():
        if "\x00" in value:
            raise invalid("Query values may not contain NUL characters.", key)
        raw[key] = _typed(value, kinds.get(key))
    try:
        return msgspec.convert(raw, into)
    except msgspec.ValidationError as exc:
        raise from_validation_error(exc) from None


_INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")


@cache
def _query_kinds(into: type[msgspec.Struct]) -> dict[str, str]:
    info = msgspec.inspect.type_info(into)
    assert isinstance(info, msgspec.inspect.StructType)
    kinds = {}
    for field in info.fields:
        kind = field.type
        while isinstance(kind, msgspec.inspect.Metadata):
            kind = kind.type
        kinds[field.encode_name] = type(kind).__name__
    return kinds


def _typed(value: str, kind: str | None) -> Any:
    """A query string as the JSON value it stands for, by the field's type, and nothing looser:
    msgspec's lax mode would also read "null" as None and "0.5" as a Unix time."""
    if kind == "IntType" and _INTEGER.match(value):
        return int(value)
    if kind == "BoolType" and value in {"true", "false"}:
        return value == "true"
    return value


async def read_body(request: Request, into: type[T], timeout_s: float) -> T:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks = bytearray()
    try:  # a client that stops sending must not hold a connection and a task for ever
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                chunks += chunk
                if len(chunks) > MAX_BODY_BYTES:
                    raise _too_large()
    except TimeoutError:
        raise ApiError(
            408,
            f"The request body did not arrive within {timeout_s:g} s.",
            None,
            "request_timeout",
            {"connection": "close"},
        ) from None
    raw = bytes(chunks)
    if not raw.strip():
        raw = b"{}"  # a bodiless POST means "all defaults"
    elif not _is_json(request.headers.get("content-type", "")):
        raise ApiError(415, "Send the body as application/json.", None, "unsupported_media_type")
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise invalid("The body is not valid JSON.", None, "invalid_json") from None
    if not isinstance(data, dict):
        raise invalid("The body must be a JSON object.", None, "invalid_json")
    try:
        return msgspec.convert(_normalized(data, ""), into)
    except msgspec.ValidationError as exc:
        raise from_validation_error(exc) from None


def _too_large() -> ApiError:
    # Closing the connection frees a client still sending the rest of the body.
    return ApiError(
        413,
        f"The body exceeds {MAX_BODY_BYTES} bytes.",
        None,
        "body_too_large",
        {"connection": "close"},
    )


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _normalized(value: Any, path: str) -> Any:
    """JSON Schema counts 2.0 as an integer and msgspec does not, so integral floats become
    ints. Strings holding NUL, which PostgreSQL text cannot store, are refused by path."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise invalid("Text may not contain NUL characters.", path or None)
        return value
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                raise invalid("Names may not contain NUL characters.", child)
            cleaned[key] = _normalized(item, child)
        return cleaned
    if isinstance(value, list):
        return [_normalized(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value
