"""Front adapters, one per API surface, and the paths each is served on.

Adding a surface: a front adapter module here, its entry in `SURFACES`, and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from routerx.gateway.fronts.base import FrontAdapter
from routerx.gateway.fronts.chat import ChatFront
from routerx.gateway.fronts.embeddings import EmbeddingsFront
from routerx.gateway.fronts.messages import MessagesFront
from routerx.gateway.fronts.responses import ResponsesFront


@dataclass(frozen=True, slots=True)
class Surface:
    front: FrontAdapter
    paths: tuple[str, ...]  # POST routes served by the pipeline with this front


SURFACES: tuple[Surface, ...] = (
    Surface(ChatFront(), ("/v1/chat/completions", "/chat/completions")),
    Surface(ResponsesFront(), ("/v1/responses", "/responses")),
    Surface(MessagesFront(), ("/v1/messages",)),
    Surface(EmbeddingsFront(), ("/v1/embeddings", "/embeddings")),
)
