"""Secrets for a local run (`make run`): generated once, kept in data/, never the examples.

JWT_SECRET, ROUTERX_SECRET_KEY and ROUTERX_INTERNAL_TOKEN that are unset (or JWT_SECRET at its
published example value) get a random value, stored in a file only its owner may read (0600),
so that a restart keeps sessions valid and stored provider secrets readable. A value set in the
environment or .env is left as it is.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from routerx.settings import EXAMPLE_JWT_SECRET, Settings

LOCAL_SECRETS_FILE = Path("data/local-secrets.json")
SECRET_BYTES = 32


def _given(settings: Settings) -> dict[str, str]:
    return {
        "JWT_SECRET": settings.jwt_secret,
        "ROUTERX_SECRET_KEY": settings.secret_key,
        "ROUTERX_INTERNAL_TOKEN": settings.internal_token,
    }


def _read(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if isinstance(k, str) and isinstance(v, str) and v}


def _write(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(values, handle)
    os.chmod(temporary, 0o600)
    temporary.replace(path)


def local_secrets(settings: Settings, path: Path = LOCAL_SECRETS_FILE) -> dict[str, str]:
    """The values to export for the variables that need one; stores new ones in `path`."""
    stored = _read(path)
    needed = {
        name
        for name, value in _given(settings).items()
        if not value or (name == "JWT_SECRET" and value == EXAMPLE_JWT_SECRET)
    }
    missing = needed - set(stored)
    if missing:
        stored.update({name: secrets.token_hex(SECRET_BYTES) for name in missing})
        _write(path, stored)
    elif path.exists():
        os.chmod(path, 0o600)
    return {name: stored[name] for name in sorted(needed)}
