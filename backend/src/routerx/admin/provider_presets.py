"""The presets for OpenAI-compatible hosts (providers.presets), for the console's create form."""

from __future__ import annotations

from typing import Literal

import msgspec

from routerx.admin.endpoint import Call
from routerx.providers.presets import presets


class PresetView(msgspec.Struct):
    name: str
    label: str
    type: Literal["openai_compatible"]
    base_url: str
    auth: str
    capabilities: list[str]
    drop_fields: list[str]
    stream_include_usage: bool
    example_model: str


async def list_presets(call: Call) -> list[PresetView]:
    return [
        PresetView(
            name,
            preset.label,
            "openai_compatible",
            preset.base_url,
            preset.auth,
            list(preset.capabilities),
            list(preset.drop_fields),
            preset.stream_include_usage,
            preset.example_model,
        )
        for name, preset in presets().items()
    ]
