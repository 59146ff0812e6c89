"""The configuration version: bumped by every admin change, watched by every gateway process."""

from __future__ import annotations

from tortoise.expressions import F

from routerx.storage.models import ConfigVersion

SINGLETON_ID = 1


async def bump_config_version() -> int:
    """Announce a configuration change; gateways reload their snapshot within ~1 s."""
    updated = await ConfigVersion.filter(id=SINGLETON_ID).update(version=F("version") + 1)
    if not updated:
        await ConfigVersion.get_or_create(id=SINGLETON_ID, defaults={"version": 1})
    return await current_config_version()


async def current_config_version() -> int:
    row = await ConfigVersion.get_or_none(id=SINGLETON_ID)
    return row.version if row else 0
