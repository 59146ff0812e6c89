"""`routerx prices load FILE`: a newer price table into the database, for every gateway."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from routerx.settings import Settings
from routerx.spend.price_file import PriceFileError, parse_price_file


def load_prices_file(settings: Settings, path: str) -> int:
    from tortoise import Tortoise

    from routerx.spend.price_table import load_table
    from routerx.storage.config_version import bump_config_version
    from routerx.storage.db import init_db

    try:
        models = parse_price_file(Path(path).read_bytes())
    except OSError as exc:
        print(f"routerx: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except PriceFileError as exc:
        print(f"routerx: {path}: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        await init_db(settings.database_url)
        try:
            loaded = await load_table(models, f"loaded from {Path(path).name}")
            await bump_config_version()
            return loaded
        finally:
            await Tortoise.close_connections()

    loaded = asyncio.run(run())
    print(f"prices loaded: {loaded} model(s) from {Path(path).name}")
    return 0
