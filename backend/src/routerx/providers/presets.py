"""Presets for OpenAI-compatible hosts, kept as data in presets.json: base URL, how the key is
sent (`bearer`; `optional` for self-hosted servers that may run without one; `none`),
capabilities, the request fields the host refuses (dropped before sending) and whether its
streams take `stream_options.include_usage`.

A provider of type `openai_compatible` whose `settings.preset` names a preset gets the preset's
dropped fields and stream setting at request time (so a corrected preset file reaches existing
providers), plus any `settings.drop_fields` of its own; its own `stream_include_usage` wins.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

import msgspec

# Fields a preset may never drop: without them there is no request.
ESSENTIAL_FIELDS = frozenset({"model", "messages", "stream", "input"})


class Preset(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    label: str
    base_url: str
    auth: Literal["bearer", "optional", "none"]
    capabilities: list[str]
    drop_fields: list[str]
    stream_include_usage: bool
    example_model: str


@functools.cache
def presets() -> dict[str, Preset]:
    raw = resources.files("routerx.providers").joinpath("presets.json").read_bytes()
    return msgspec.json.decode(raw, type=dict[str, Preset])


def preset(name: str) -> Preset | None:
    return presets().get(name)
