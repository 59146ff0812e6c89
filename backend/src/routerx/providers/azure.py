"""Azure OpenAI: the deployment is the upstream model, the key goes in `api-key`.

URL: `{base_url}/openai/deployments/{deployment}/chat/completions?api-version={api_version}`
(embeddings: `.../deployments/{deployment}/embeddings?api-version=...`), with `api_version` from
the provider's settings (default below). The Responses API is served at Azure's v1 path,
`{base_url}/openai/v1/responses`, with the deployment as `model`.
"""

from __future__ import annotations

from urllib.parse import quote

from routerx.providers.base import ProviderConfig
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.http import HttpClient
from routerx.providers.openai_compat import OpenAICompatProvider

# The first GA version that streams usage (stream_options.include_usage).
DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIProvider(OpenAICompatProvider):
    token_cap_field = None  # deployments of older models know only max_tokens: sent as given
    native_apis = frozenset({"responses"})

    def __init__(self, config: ProviderConfig, http: HttpClient) -> None:
        api_version = config.settings.get("api_version", DEFAULT_API_VERSION)
        if not isinstance(api_version, str) or not api_version:
            raise ProviderConfigError(
                f"providers.{config.name}.settings.api_version: must be a non-empty string"
            )
        self.api_version = quote(api_version, safe="")
        super().__init__(config, http)

    def endpoint(self, base_url: str) -> str:
        return f"{base_url}/openai/deployments"

    def url_for(self, upstream_model: str) -> str:
        return (
            f"{self.url}/{quote(upstream_model, safe='')}/chat/completions"
            f"?api-version={self.api_version}"
        )

    def responses_url(self) -> str:
        return f"{self.base_url}/openai/v1/responses"

    def embeddings_url_for(self, upstream_model: str) -> str:
        return (
            f"{self.url}/{quote(upstream_model, safe='')}/embeddings?api-version={self.api_version}"
        )

    def auth_headers(self) -> dict[str, str]:
        secret = self.config.secret
        return {"api-key": secret} if secret else {}
