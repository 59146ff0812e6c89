"""A LiteLLM proxy `config.yaml` as a RouterX file.

LiteLLM's `model_list` holds deployments: a public `model_name` and `litellm_params.model` as
`provider/model`. Deployments of one model name are load-balanced (by `weight`, else `rpm`,
else `tpm`, as LiteLLM's simple-shuffle weighs them); `fallbacks` name other model groups to try
next. In RouterX each model name becomes a routing rule: its deployments are tier 0 with those
weights, each fallback group the next tier. Deployments that share a connection (type, base URL,
key variable, API version, timeout) become one provider. Everything that does not map is listed,
with the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec

from routerx.admin.providers import Capability
from routerx.admin.rules import Target
from routerx.config_file.loader import ConfigFileError, Problem, parse
from routerx.config_file.schema import (
    ConfigFile,
    KeySpec,
    ProviderSpec,
    RuleSpec,
    TenantSpec,
)
from routerx.providers.base import EMBEDDING_TYPES

ENV_PREFIX = "os.environ/"
MAX_WEIGHT = 10_000
MAX_TIER = 16
MASTER_KEY_TENANT = "litellm"
# LiteLLM provider prefix -> (RouterX type, base URL when LiteLLM has one built in).
OPENAI_COMPATIBLE = {
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "together_ai": "https://api.together.xyz/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "xai": "https://api.x.ai/v1",
    "perplexity": "https://api.perplexity.ai",
    "hosted_vllm": "",
    "vllm": "",
    "lm_studio": "",
    "ollama": "http://localhost:11434",
    "ollama_chat": "http://localhost:11434",
}
NATIVE = {"openai": "openai", "azure": "azure", "anthropic": "anthropic", "gemini": "gemini"}
# Prefix-less model names LiteLLM recognises by their family.
FAMILIES = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-"), "openai"),
    (("claude-",), "anthropic"),
    (("gemini-",), "gemini"),
)
HANDLED_PARAMS = {
    "model",
    "api_base",
    "base_url",
    "api_key",
    "api_version",
    "rpm",
    "tpm",
    "weight",
    "timeout",
}
HANDLED_INFO = {"mode", "supports_vision", "supports_function_calling"}
UNMAPPED_MODES = {"completion", "image_generation", "audio_transcription", "audio_speech", "rerank"}
CONTEXT_FALLBACK_REASON = (
    "RouterX answers a prompt longer than the model's context with a context_length_exceeded "
    "error and does not retry a 4xx on another model"
)
SETTING_REASONS = {
    "routing_strategy": "RouterX balances by weight within a tier (LiteLLM's simple-shuffle); "
    "latency- and usage-based strategies have no equivalent",
    "num_retries": "RouterX retries and falls back by its own policy",
    "allowed_fails": "RouterX opens a provider's circuit breaker by its breaker settings",
    "cooldown_time": "RouterX opens a provider's circuit breaker by its breaker settings",
    "context_window_fallbacks": CONTEXT_FALLBACK_REASON,
    "content_policy_fallbacks": "RouterX returns an upstream's 4xx to the client",
    "redis_host": "RouterX shares limits and breakers through REDIS_URL",
    "redis_port": "RouterX shares limits and breakers through REDIS_URL",
    "redis_password": "RouterX shares limits and breakers through REDIS_URL",
    "database_url": "RouterX reads DATABASE_URL",
    "drop_params": "RouterX maps each API's fields itself",
    "success_callback": "RouterX exports metrics, traces and its request log",
    "failure_callback": "RouterX exports metrics, traces and its request log",
    "callbacks": "RouterX exports metrics, traces and its request log",
}


def _positive(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


@dataclass
class Imported:
    document: ConfigFile
    unmapped: list[str] = field(default_factory=list)


@dataclass
class _Deployment:
    model_name: str
    provider: str
    model: str | None
    weight: int
    capability: str


@dataclass
class _Importer:
    source: str
    unmapped: list[str] = field(default_factory=list)
    providers: dict[tuple[Any, ...], ProviderSpec] = field(default_factory=dict)
    deployments: list[_Deployment] = field(default_factory=list)
    default_timeout: float | None = None  # router_settings.timeout

    def note(self, where: str, reason: str) -> None:
        self.unmapped.append(f"{where}: {reason}")

    def _provider_name(self, prefix: str, base_url: str) -> str:
        host = urlsplit(base_url).hostname or "" if base_url else ""
        label = host.split(".")[0] if host and not host.replace(".", "").isdigit() else host
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{prefix}-{label}" if label else prefix)
        base = base.strip("-._")[:90] or "provider"
        taken = {p.name for p in self.providers.values()}
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}-{suffix}", suffix + 1
        return name

    def _connection(self, where: str, params: dict[str, Any]) -> tuple[str, str, str] | None:
        """(RouterX type, base URL, the model after its prefix), or None when it cannot map."""
        model = str(params.get("model") or "")
        prefix, _, rest = model.partition("/")
        if not rest:
            family = next((kind for starts, kind in FAMILIES if model.startswith(starts)), None)
            if family is None:
                self.note(f"{where}.model", f"no provider prefix in {model!r}")
                return None
            prefix, rest = family, model
        api_base = str(params.get("api_base") or params.get("base_url") or "").rstrip("/")
        if prefix in NATIVE:
            kind = NATIVE[prefix]
            if kind == "openai" and api_base and urlsplit(api_base).hostname != "api.openai.com":
                kind = "openai_compatible"
            if kind == "azure" and not api_base:
                self.note(f"{where}.api_base", "an Azure deployment needs its api_base")
                return None
            return kind, api_base, rest
        if prefix in OPENAI_COMPATIBLE:
            base = api_base or OPENAI_COMPATIBLE[prefix]
            if not base:
                self.note(f"{where}.api_base", f"a {prefix} deployment needs its api_base")
                return None
            if prefix.startswith("ollama") and not base.endswith("/v1"):
                base += "/v1"  # Ollama's OpenAI-compatible API
            return "openai_compatible", base, rest
        self.note(f"{where}.model", f"RouterX has no {prefix!r} provider type")
        return None

    def _secret_env(self, where: str, params: dict[str, Any]) -> str | None:
        api_key = params.get("api_key")
        if api_key is None:
            return None
        if isinstance(api_key, str) and api_key.startswith(ENV_PREFIX):
            return api_key.removeprefix(ENV_PREFIX)
        self.note(
            f"{where}.api_key",
            "a literal key is not copied into the file: put it in an environment variable "
            "and name it with secret_env",
        )
        return None

    @staticmethod
    def _weight(params: dict[str, Any]) -> int:
        for name in ("weight", "rpm", "tpm"):
            value = params.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return max(1, min(MAX_WEIGHT, round(value)))
        return 1

    def _capabilities(self, where: str, info: dict[str, Any], kind: str) -> list[str] | None:
        mode = info.get("mode", "chat")
        if mode == "embedding":
            if kind not in EMBEDDING_TYPES:
                self.note(f"{where}.model_info.mode", f"a {kind} provider has no embeddings API")
                return None
            return ["embeddings"]
        if mode in UNMAPPED_MODES:
            self.note(f"{where}.model_info.mode", f"RouterX does not serve {mode} models")
            return None
        capabilities = ["text"]
        if info.get("supports_vision"):
            capabilities.append("vision")
        if info.get("supports_function_calling"):
            capabilities.append("tools")
        return capabilities

    def deployment(self, index: int, entry: Any) -> None:
        where = f"model_list[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("litellm_params"), dict):
            self.note(where, "a deployment needs model_name and litellm_params")
            return
        model_name = str(entry.get("model_name") or "")
        params: dict[str, Any] = entry["litellm_params"]
        info = entry.get("model_info") if isinstance(entry.get("model_info"), dict) else {}
        assert isinstance(info, dict)
        for name in sorted(set(params) - HANDLED_PARAMS):
            self.note(f"{where}.litellm_params.{name}", "RouterX sends each request's own fields")
        for name in sorted(set(info) - HANDLED_INFO):
            self.note(f"{where}.model_info.{name}", "RouterX keeps no model metadata")
        connection = self._connection(f"{where}.litellm_params", params)
        if not model_name or connection is None:
            return
        kind, base_url, model = connection
        capabilities = self._capabilities(where, info, kind)
        if capabilities is None:
            return
        secret_env = self._secret_env(f"{where}.litellm_params", params)
        settings: dict[str, Any] = {}
        if params.get("api_version"):
            settings["api_version"] = str(params["api_version"])
        timeout = _positive(params.get("timeout")) or self.default_timeout
        if timeout is not None:
            settings["timeouts"] = {"total_s": timeout}
        group = (kind, base_url, secret_env, msgspec.json.encode(settings))
        provider = self.providers.get(group)
        if provider is None:
            given_base = params.get("api_base") or params.get("base_url")
            prefix = str(params["model"]).partition("/")[0] if "/" in str(params["model"]) else kind
            provider = msgspec.convert(
                {
                    "name": self._provider_name(prefix, str(given_base or "")),
                    "type": kind,
                    "base_url": base_url,
                    "capabilities": capabilities,
                    "settings": settings,
                    "secret_env": secret_env,
                },
                ProviderSpec,
            )
            self.providers[group] = provider
        else:
            provider.capabilities = msgspec.convert(
                [
                    *provider.capabilities,
                    *(c for c in capabilities if c not in provider.capabilities),
                ],
                list[Capability],
            )
        target_model = None if model in ("*", "") or model.endswith("/*") else model
        capability = "embeddings" if capabilities == ["embeddings"] else "text"
        self.deployments.append(
            _Deployment(model_name, provider.name, target_model, self._weight(params), capability)
        )
        if "vision" in capabilities:
            self.deployments.append(
                _Deployment(model_name, provider.name, target_model, self._weight(params), "vision")
            )


def _fallbacks(importer: _Importer, sections: dict[str, Any]) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    for section_name, section in sections.items():
        entries = section.get("fallbacks") or []
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                importer.note(f"{section_name}.fallbacks[{index}]", "expected {model: [models]}")
                continue
            for model, named in entry.items():
                listed = [named] if isinstance(named, str) else list(named or [])
                chosen[str(model)] = [str(f) for f in listed]
    return chosen


def _rules(
    importer: _Importer, fallbacks: dict[str, list[str]], default: list[str]
) -> list[RuleSpec]:
    groups: dict[tuple[str, str], list[_Deployment]] = {}
    for deployment in importer.deployments:
        groups.setdefault((deployment.model_name, deployment.capability), []).append(deployment)
    capable = {p.name: p.capabilities for p in importer.providers.values()}
    rules = []
    for (model_name, capability), deployments in groups.items():
        tiers = [deployments]
        for fallback in fallbacks.get(model_name, default if capability == "text" else []):
            if fallback == model_name:
                continue
            group = groups.get((fallback, capability))
            if group is None:
                importer.note(
                    f"fallbacks {model_name} -> {fallback}",
                    f"no {capability} deployment of {fallback!r} to fall back to",
                )
                continue
            tiers.append(group)
        targets: list[Target] = []
        seen: set[tuple[str, str | None]] = set()
        for tier, group in enumerate(tiers[: MAX_TIER + 1]):
            for d in group:
                if (d.provider, d.model) in seen or capability not in capable[d.provider]:
                    continue
                seen.add((d.provider, d.model))
                targets.append(
                    Target(provider=d.provider, model=d.model, weight=d.weight, tier=tier)
                )
        suffix = "-vision" if capability == "vision" else ""  # beside the same-named text rule
        name = re.sub(r"[\x00-\x1f\x7f]", "", f"{model_name}{suffix}")[:100]
        rules.append(
            RuleSpec(
                name=name,
                model_pattern=model_name.replace(" ", "-"),
                capability=capability,  # type: ignore[arg-type]
                targets=targets[:64],
            )
        )
    return rules


def _master_key(importer: _Importer, general: dict[str, Any]) -> list[TenantSpec]:
    master_key = general.get("master_key")
    if not isinstance(master_key, str) or not master_key:
        return []
    if master_key.startswith(ENV_PREFIX):
        variable = master_key.removeprefix(ENV_PREFIX)
        value = os.environ.get(variable)
        if not value:
            importer.note(
                "general_settings.master_key",
                f"{variable} is not set here, so its digest is unknown: set it and import again, "
                "or add the key's digest by hand",
            )
            return []
        master_key = value
    digest = hashlib.sha256(master_key.encode()).hexdigest()
    key = KeySpec(name="master-key", digest=digest)
    return [TenantSpec(name=MASTER_KEY_TENANT, keys=[key])]


def _other_settings(importer: _Importer, sections: dict[str, Any]) -> None:
    for section_name, section in sections.items():
        for name in section:
            if name in {"fallbacks", "default_fallbacks", "master_key"}:
                continue
            if section_name == "router_settings" and name == "timeout":
                continue
            reason = SETTING_REASONS.get(name, "no RouterX equivalent")
            importer.note(f"{section_name}.{name}", reason)


def import_litellm(data: Any, source: str) -> Imported:
    if not isinstance(data, dict):
        raise ConfigFileError(source, [Problem("", "a LiteLLM config is a mapping")])
    importer = _Importer(source)
    model_list = data.get("model_list")
    if not isinstance(model_list, list) or not model_list:
        raise ConfigFileError(source, [Problem("model_list", "LiteLLM's model_list is missing")])
    sections = {
        name: data[name]
        for name in ("router_settings", "litellm_settings", "general_settings")
        if isinstance(data.get(name), dict)
    }
    importer.default_timeout = _positive(sections.get("router_settings", {}).get("timeout"))
    for index, entry in enumerate(model_list):
        importer.deployment(index, entry)
    for name in sorted(set(data) - {"model_list", *sections}):
        reason = (
            "set these in RouterX's environment"
            if name == "environment_variables"
            else ("no RouterX equivalent")
        )
        importer.note(name, reason)
    fallbacks = _fallbacks(importer, {k: v for k, v in sections.items() if k != "general_settings"})
    default = sections.get("litellm_settings", {}).get("default_fallbacks") or []
    rules = _rules(importer, fallbacks, [str(d) for d in default])
    tenants = _master_key(importer, sections.get("general_settings", {}))
    _other_settings(importer, sections)
    document = ConfigFile(providers=list(importer.providers.values()), rules=rules, tenants=tenants)
    return Imported(document, importer.unmapped)


def import_litellm_file(path: str) -> Imported:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigFileError(
            path, [Problem("", f"cannot read the file: {exc.strerror}")]
        ) from None
    data, _ = parse(text, path)
    return import_litellm(data, path)
