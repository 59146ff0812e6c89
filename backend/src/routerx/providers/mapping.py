"""Declarative request-parameter tables for adapters that translate OpenAI requests.

Each row reads: take this field of the validated request, put it at this path of the upstream
body, after this transform, or this default when the client gave none. A transform that returns
None drops the parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from routerx.wire.openai import ChatRequest


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Param:
    source: str
    target: str
    transform: Callable[[Any], Any] = _same
    default: Any = None


def apply_params(table: Iterable[Param], request: ChatRequest, body: dict[str, Any]) -> None:
    for param in table:
        value = getattr(request, param.source)
        value = param.default if value is None else param.transform(value)
        if value is not None:
            set_path(body, param.target, value)


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
