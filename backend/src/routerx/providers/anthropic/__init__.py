"""Anthropic Messages API: request mapping, answer translation and the adapter."""

from routerx.providers.anthropic.provider import AnthropicProvider

__all__ = ["AnthropicProvider"]
