"""Google Gemini `generateContent`: request mapping, answer translation and the adapter."""

from routerx.providers.gemini.provider import GeminiProvider

__all__ = ["GeminiProvider"]
