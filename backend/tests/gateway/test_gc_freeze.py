"""The gateway's start-up objects are kept out of later garbage collections (gc.freeze at the
end of its lifespan's start-up), and given back at shutdown: a full collection over them held
the event loop as long as a health check may take."""

from __future__ import annotations

import gc
from pathlib import Path

from routerx.gateway.app import build_app
from routerx.settings import Settings
from tests.support.database import prepare


async def test_start_up_objects_are_frozen_while_the_app_runs(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    settings = Settings(database_url=database_url, jwt_secret="test-secret-not-the-example")
    app = build_app(settings)
    assert gc.get_freeze_count() == 0
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
