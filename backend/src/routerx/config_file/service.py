"""CONFIG_FILE in the admin service: applied at start (a file that does not apply stops the
start, so the database and the file never silently disagree) and again on SIGHUP (a file that
does not apply then is logged and the running configuration stays)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from routerx.config_file.apply import ApplyResult, apply_file
from routerx.config_file.loader import ConfigFileError, load_file

log = logging.getLogger("routerx.config_file")
ACTOR = "config-file"


class ConfigFileStartError(RuntimeError):
    """The configured file does not apply; the message says where and why."""


async def apply_configured_file(path: str) -> ApplyResult:
    loaded = load_file(path)
    # No key values are shown by a service: a new key needs its digest in the file.
    result = await apply_file(loaded, actor=ACTOR, generate_keys=False)
    if result.config_version is None:
        log.info("configuration file %s: no changes", loaded.label)
    else:
        log.info(
            "configuration file %s (sha256:%s) applied: %d changes, configuration version %d",
            loaded.label,
            loaded.digest[:12],
            len(result.plan.changes),
            result.config_version,
        )
    return result


async def apply_at_start(path: str) -> None:
    try:
        await apply_configured_file(path)
    except ConfigFileError as exc:
        raise ConfigFileStartError(f"CONFIG_FILE does not apply:\n{exc}") from None


@contextmanager
def reload_on_sighup(
    path: str, database: Callable[[], AbstractContextManager[None]]
) -> Iterator[None]:
    """While active, SIGHUP applies the file again (one apply at a time)."""
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    tasks: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        async with lock:
            with database():
                try:
                    await apply_configured_file(path)
                except ConfigFileError as exc:
                    log.error("configuration file not applied on SIGHUP:\n%s", exc)
                except Exception as exc:
                    log.error("configuration file not applied on SIGHUP: %s", type(exc).__name__)

    def on_signal() -> None:
        task = loop.create_task(reload())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, on_signal)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
