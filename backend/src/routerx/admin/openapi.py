"""The OpenAPI 3.1 document, generated from the route table and its msgspec types.

Paths, methods, roles, parameters, bodies and every status a route can answer come from the same
Endpoint objects that serve the requests, and schemas from msgspec.json.schema_components, so the
document describes what the API does.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import msgspec
from starlette.responses import Response

from routerx.admin.endpoint import MAX_ID, STRING_PARAM_LENGTHS, Call, Endpoint
from routerx.admin.sessions import COOKIE_NAME
from routerx.gateway.errors import ErrorBody

REF = "#/components/schemas/{name}"
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    400: "Invalid input; `error.param` names the field",
    401: "Not signed in, or the session is invalid or expired",
    403: "Signed in, but the role may not do this",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Body is not JSON",
    429: "Too many failed attempts; see Retry-After",
    503: "A dependency did not answer: the database, or the gateway's internal API",
}


def _path_param_schema(name: str, kind: str) -> dict[str, Any]:
    if kind == "int":
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": STRING_PARAM_LENGTHS[name],
        "pattern": r"^[^/\x00-\x1f\x7f]+$",
    }


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = []
    for name, declared in schema.get("properties", {}).items():
        prop = dict(declared)
        prop.pop("default", None)
        # `X | None = None` means "may be left out"; a query string cannot send null.
        options = prop.get("anyOf")
        if options is not None:
            kept = [option for option in options if option.get("type") != "null"]
            prop = dict(kept[0]) if len(kept) == 1 else {"anyOf": kept}
        described = prop.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if described:
            parameter["description"] = described
        parameters.append(parameter)
    return parameters


def _operation(
    endpoint: Endpoint, refs: dict[Any, dict[str, Any]], components: dict[str, Any]
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "x-required-role": endpoint.role,
    }
    if endpoint.handler.__doc__:
        operation["description"] = " ".join(endpoint.handler.__doc__.split())
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _path_param_schema(name, kind)}
        for name, kind in endpoint.path_params
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(components[endpoint.query.__name__])
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": False,  # no body reads as {}: all defaults, or no change for a PATCH
            "content": {"application/json": {"schema": refs[endpoint.body]}},
        }
    success: dict[str, Any] = {"description": STATUS_TEXT[endpoint.status]}
    if endpoint.response is not None:
        success["content"] = {"application/json": {"schema": refs[endpoint.response]}}
    responses = {str(endpoint.status): success}
    error_schema = {"application/json": {"schema": refs[ErrorBody]}}
    for status in endpoint.error_statuses:
        responses[str(status)] = {"description": STATUS_TEXT[status], "content": error_schema}
    operation["responses"] = responses
    if endpoint.role != "public":
        operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
    return operation


def package_version() -> str:
    try:
        return version("routerx")
    except PackageNotFoundError:
        return "0.0.0"


async def serve_openapi(call: Call) -> Response:
    """This document."""
    return Response(call.services.openapi_document, media_type="application/json")


def build_openapi(endpoints: Sequence[Endpoint], version: str) -> dict[str, Any]:
    types: list[Any] = [ErrorBody]
    for endpoint in endpoints:
        types += [t for t in (endpoint.body, endpoint.query, endpoint.response) if t is not None]
    unique = list(dict.fromkeys(types))
    schemas, components = msgspec.json.schema_components(unique, ref_template=REF)
    refs = dict(zip(unique, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.openapi_path, {})[endpoint.method.lower()] = _operation(
            endpoint, refs, components
        )
    query_types = {e.query.__name__ for e in endpoints if e.query is not None}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "RouterX Admin API",
            "version": version,
            "description": "Configuration, request logs, statistics and audit for RouterX. "
            "Sign in with POST /api/v1/auth/login; the console uses the httpOnly "
            f"`{COOKIE_NAME}` cookie, scripts send `Authorization: Bearer <token>`. "
            "Roles: `viewer` reads, `admin` reads and writes (see x-required-role).",
        },
        "paths": paths,
        "components": {
            "schemas": {k: v for k, v in components.items() if k not in query_types},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME},
            },
        },
    }
