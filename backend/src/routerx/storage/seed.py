"""Demo data: tenant `demo` with key `demo_key_fake_123456`, mock providers, rules, admin.

Idempotent: rows that exist (by name) are left as they are, so re-seeding never undoes an
operator's change.
"""

from __future__ import annotations

import logging
from typing import Any

from routerx.admin.users import ensure_default_admin
from routerx.auth.api_keys import digest_key, display_prefix
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey, Provider, RoutingRule, Tenant

log = logging.getLogger("routerx.seed")

DEMO_KEY = "demo_key_fake_123456"  # documented in the README: fake, local use only
DEMO_MODEL = "gpt-4.1-mini"

PROVIDERS: list[dict[str, Any]] = [
    {"name": "mock-text", "type": "mock", "capabilities": ["text", "tools", "json"]},
    {"name": "mock-text-backup", "type": "mock", "capabilities": ["text", "tools", "json"]},
    {"name": "mock-vision", "type": "mock", "capabilities": ["text", "vision", "tools", "json"]},
]
RULES: list[dict[str, Any]] = [
    {
        "name": "demo-text",
        "model_pattern": DEMO_MODEL,
        "capability": "text",
        "targets": [
            {"provider": "mock-text", "model": DEMO_MODEL, "weight": 1, "tier": 0},
            {"provider": "mock-text-backup", "model": DEMO_MODEL, "weight": 1, "tier": 1},
        ],
    },
    {
        "name": "demo-vision",
        "model_pattern": DEMO_MODEL,
        "capability": "vision",
        "targets": [
            {"provider": "mock-vision", "model": DEMO_MODEL, "weight": 1, "tier": 0},
        ],
    },
]

# Embeddings: the mock answers `text-embedding-3-small` with deterministic vectors.
DEMO_EMBEDDING_MODEL = "text-embedding-3-small"
PROVIDERS.append({"name": "mock-embeddings", "type": "mock", "capabilities": ["embeddings"]})
RULES.append(
    {
        "name": "demo-embeddings",
        "model_pattern": DEMO_EMBEDDING_MODEL,
        "capability": "embeddings",
        "targets": [
            {"provider": "mock-embeddings", "model": DEMO_EMBEDDING_MODEL, "weight": 1, "tier": 0},
        ],
    }
)


# Anthropic model names (`/v1/messages`, Claude Code) answered by the same mocks: text with a
# backup tier, and vision; both mocks take tools.
CLAUDE_PATTERN = "claude-*"
RULES += [
    {
        "name": "demo-claude-text",
        "model_pattern": CLAUDE_PATTERN,
        "capability": "text",
        "targets": [
            {"provider": "mock-text", "weight": 1, "tier": 0},
            {"provider": "mock-text-backup", "weight": 1, "tier": 1},
        ],
    },
    {
        "name": "demo-claude-vision",
        "model_pattern": CLAUDE_PATTERN,
        "capability": "vision",
        "targets": [{"provider": "mock-vision", "weight": 1, "tier": 0}],
    },
]
DEMO_ALLOWED_MODELS = [DEMO_MODEL, DEMO_EMBEDDING_MODEL, CLAUDE_PATTERN]


async def seed_demo_data() -> list[str]:
    """Create what is missing; return what was created, for the command's output."""
    created: list[str] = []
    tenant, made = await Tenant.get_or_create(
        name="demo", defaults={"allowed_models": DEMO_ALLOWED_MODELS, "rpm_limit": None}
    )
    if made:
        created.append("tenant demo")
    digest = digest_key(DEMO_KEY)
    if not await ApiKey.filter(digest=digest).exists():
        await ApiKey.create(
            tenant=tenant, name="demo key", prefix=display_prefix(DEMO_KEY), digest=digest
        )
        created.append("api key demo_key_fake_123456")
    for spec in PROVIDERS:
        _, made = await Provider.get_or_create(name=spec["name"], defaults=spec)
        if made:
            created.append(f"provider {spec['name']}")
    for spec in RULES:
        _, made = await RoutingRule.get_or_create(name=spec["name"], defaults=spec)
        if made:
            created.append(f"rule {spec['name']}")
    if await ensure_default_admin():
        created.append("admin user admin")
    await bump_config_version()
    return created
