"""Capabilities read off a request: what a provider must support to serve it."""

from __future__ import annotations

from dataclasses import dataclass

from routerx.wire.openai import AudioPart, ChatRequest, ContentPart, FilePart, ImagePart

# Content parts and the capability a target needs to take them.
PART_CAPABILITIES: dict[type[ContentPart], str] = {
    ImagePart: "vision",
    AudioPart: "audio",
    FilePart: "files",
}


@dataclass(frozen=True, slots=True)
class Needs:
    """`primary` picks the routing rule (text | vision); `required` filters the targets."""

    primary: str
    required: frozenset[str]


# An embeddings request needs only an embeddings-capable provider, through an `embeddings` rule
# (or another rule for the model whose targets include one).
EMBEDDINGS_NEEDS = Needs("embeddings", frozenset({"embeddings"}))


def needs_of(request: ChatRequest) -> Needs:
    required = {"text"}
    primary = "text"
    for kind in request.part_kinds():
        capability = PART_CAPABILITIES.get(kind)
        if capability is not None:
            required.add(capability)
    if "vision" in required:
        primary = "vision"
    if request.tools:
        required.add("tools")
    if request.response_format is not None and request.response_format.type != "text":
        required.add("json")
    return Needs(primary, frozenset(required))
