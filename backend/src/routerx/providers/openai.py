"""OpenAI itself: the compatible base with OpenAI's default base URL and a required key."""

from __future__ import annotations

from routerx.providers.openai_compat import OpenAICompatProvider

OPENAI_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(OpenAICompatProvider):
    default_base_url = OPENAI_BASE_URL
    token_cap_field = "max_completion_tokens"  # noqa: S105 - a field name
    developer_as_system = False
    native_apis = frozenset({"responses"})
