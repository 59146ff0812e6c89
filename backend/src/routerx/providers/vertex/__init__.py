"""Google Vertex AI: Gemini (generateContent) and Anthropic (rawPredict) models, OAuth2 tokens."""

from routerx.providers.vertex.provider import VertexProvider

__all__ = ["VertexProvider"]
