"""The windows of one kind of subject (tenants or keys), with idle ones evicted."""

from __future__ import annotations

from collections import OrderedDict

from routerx.limits.window import Window


class WindowTable:
    """Windows by subject id, kept in the order of the minute each was last moved to.

    A window whose minute is older than the previous minute no longer counts for anything,
    so it can be dropped. Because every roll moves a window to the end, the stale ones are
    at the front: eviction never looks at a live window.
    """

    def __init__(self, kind: str, *, shared: bool) -> None:
        self._kind = kind
        self._windows: OrderedDict[int | str, Window] = OrderedDict()
        self._used: list[Window] | None = [] if shared else None
        """Windows used since the last sync round, when sharing."""

    def __len__(self) -> int:
        return len(self._windows)

    def current(self, subject: int | str, minute: int) -> Window:
        """The subject's window moved to `minute` and marked used, created if it is new."""
        window = self._windows.get(subject)
        if window is None:
            name = f"{self._kind}:{subject}"
            window = self._windows[subject] = Window(subject, name, minute, self._used)
            return window
        if not window.used:
            window.mark_used()
        if window.minute < minute:
            window.roll(minute)
            self._windows.move_to_end(subject)
        return window

    def take_used(self, minute: int) -> list[Window]:
        """The windows used since the last call that still count, moved to `minute`.

        All are marked unused: using one again lists it for the next call.
        """
        if not self._used:
            return []
        oldest_kept = minute - 1
        windows = []
        for window in self._used:
            window.used = False
            if window.minute >= oldest_kept:
                window.roll(minute)
                windows.append(window)
        self._used.clear()
        return windows

    def evict(self, minute: int, budget: int) -> bool:
        """Drops up to `budget` windows that no longer count at `minute`; True once none is left.

        The budget spreads a large eviction over many calls instead of stalling one.
        """
        windows = self._windows
        oldest_kept = minute - 1
        for _ in range(budget):
            if not windows or next(iter(windows.values())).minute >= oldest_kept:
                return True
            windows.popitem(last=False)
        return not windows or next(iter(windows.values())).minute >= oldest_kept
