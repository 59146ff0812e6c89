"""Client requests (OpenAI Chat Completions bodies) shared by the provider tests, and helpers
that read back what an adapter sent upstream in a provider-neutral form."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.image_server import PNG

PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def text(prompt: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": prompt}], **extra}


def with_system(**extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4.1-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Hello"}]},
        ],
        **extra,
    }


def multi_turn(**extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4.1-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And times 3?"},
        ],
        **extra,
    }


def image(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4.1-mini",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": url},
                ],
            }
        ],
        **extra,
    }


def tools(**extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [WEATHER_TOOL],
        **extra,
    }


def tool_round_trip(**extra: Any) -> dict[str, Any]:
    """A conversation where the assistant called a tool and the tool answered."""
    return {
        "model": "gpt-4.1-mini",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_abc", "content": '{"temp_c": 21}'},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
        **extra,
    }


# --- what the adapter sent, read back per provider -------------------------------------------

# Adapters that speak another one's wire format (Vertex serves Gemini's and Anthropic's).
WIRE_FORMATS = {"vertex": "gemini", "vertex_anthropic": "anthropic"}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def sent_system(adapter: str, body: dict[str, Any]) -> str | None:
    adapter = WIRE_FORMATS.get(adapter, adapter)
    if adapter == "anthropic":
        return body.get("system")
    if adapter == "gemini":
        instruction = body.get("systemInstruction")
        return instruction["parts"][0]["text"] if instruction else None
    if adapter == "bedrock":
        return "".join(block["text"] for block in body["system"]) if "system" in body else None
    systems = [m for m in body["messages"] if m["role"] == "system"]
    return _text_of(systems[0]["content"]) if systems else None


def sent_turns(adapter: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of every non-system turn, roles in OpenAI's words."""
    adapter = WIRE_FORMATS.get(adapter, adapter)
    if adapter == "gemini":
        roles = {"model": "assistant", "user": "user"}
        return [
            (roles[c["role"]], "".join(p.get("text", "") for p in c["parts"]))
            for c in body["contents"]
        ]
    if adapter == "bedrock":
        return [
            (m["role"], "".join(block.get("text", "") for block in m["content"]))
            for m in body["messages"]
        ]
    return [(m["role"], _text_of(m["content"])) for m in body["messages"] if m["role"] != "system"]


def sent_images(adapter: str, body: dict[str, Any]) -> list[str]:
    """Every image sent, as its URL or as a data: URL of the bytes sent inline."""
    adapter = WIRE_FORMATS.get(adapter, adapter)
    images: list[str] = []
    if adapter == "gemini":
        for content in body["contents"]:
            for part in content["parts"]:
                inline = part.get("inlineData")
                if inline is not None and inline["mimeType"].startswith("image/"):
                    images.append(f"data:{inline['mimeType']};base64,{inline['data']}")
        return images
    if adapter == "bedrock":
        for message in body["messages"]:
            for block in message["content"]:
                if "image" in block:
                    image = block["image"]
                    images.append(f"data:image/{image['format']};base64,{image['source']['bytes']}")
        return images
    for message in body["messages"]:
        for part in message["content"] if isinstance(message["content"], list) else []:
            if adapter == "anthropic" and part["type"] == "image":
                source = part["source"]
                images.append(
                    source["url"]
                    if source["type"] == "url"
                    else f"data:{source['media_type']};base64,{source['data']}"
                )
            elif part.get("type") == "image_url":
                images.append(part["image_url"]["url"])
    return images


# --- audio and file parts ---------------------------------------------------------------------

# A 44-byte WAV header of an empty 8 kHz mono recording, and the smallest valid PDF.
WAV = (
    b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00"
    b"\x80>\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
WAV_BASE64 = base64.b64encode(WAV).decode()
PDF_BASE64 = base64.b64encode(PDF).decode()
PDF_DATA_URL = "data:application/pdf;base64," + PDF_BASE64
AUDIO_PART = {"type": "input_audio", "input_audio": {"data": WAV_BASE64, "format": "wav"}}
FILE_PART = {"type": "file", "file": {"file_data": PDF_DATA_URL, "filename": "report.pdf"}}
FILE_ID_PART = {"type": "file", "file": {"file_id": "file-abc123"}}


def with_parts(*parts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    content = [{"type": "text", "text": "What is in here?"}, *parts]
    return {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": content}], **extra}
