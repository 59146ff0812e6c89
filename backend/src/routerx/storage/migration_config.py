"""Tortoise configuration for writing new migrations (`make migrations`).

The autodetector diffs the models against the migration files, not against a database, so an
in-memory SQLite connection serves; the files it writes are dialect-independent operations.
"""

from routerx.storage.db import tortoise_config

TORTOISE_ORM = tortoise_config("sqlite://:memory:")
