"""Context-window-aware routing.

A target's window is its provider's `settings.context_windows[<upstream model>]` when set, else
the model catalog's figure (routerx.catalog); a model neither knows is assumed to fit (nothing is
known against it). Before any upstream call, a target whose window cannot hold the prompt
estimate plus the requested output cap is skipped (logged as `skipped_context_window`); when
that leaves none, the request is a 400 `context_length_exceeded`. When an upstream itself
answers `context_length_exceeded`, the request moves on to the later targets whose windows are
known to be larger than the one that refused it.
"""

from __future__ import annotations

import dataclasses
import functools

from routerx.catalog import lookup
from routerx.core.log_row import Attempt
from routerx.providers.base import ProviderConfig
from routerx.providers.error_detail import CONTEXT_LENGTH_EXCEEDED
from routerx.routing.rules import PlannedTarget, RoutePlan

SKIPPED = "skipped_context_window"


class ContextTooLong(Exception):
    """No target's context window holds the request."""

    def __init__(self, needed: int, largest: int) -> None:
        super().__init__(
            f"The request needs about {needed} tokens (prompt and max_tokens); the largest "
            f"context window among this model's targets is {largest} tokens."
        )
        self.message = str(self)


def context_window(provider: ProviderConfig, model: str) -> int | None:
    own = provider.settings.get("context_windows")
    if isinstance(own, dict):
        value = own.get(model)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return _catalog_window(model)


@functools.lru_cache(maxsize=4096)
def _catalog_window(model: str) -> int | None:
    """The bundled catalog does not change while the process runs: one lookup per model."""
    info = lookup(model)
    return info.context_window if info is not None else None


def fitting_plan(plan: RoutePlan, needed_tokens: int, attempts: list[Attempt]) -> RoutePlan:
    """The plan without the targets too small for `needed_tokens`; ContextTooLong if none fit."""
    kept: list[PlannedTarget] = []
    largest = 0
    for target in plan.targets:
        window = context_window(target.provider, target.model)
        if window is None or window >= needed_tokens:
            kept.append(target)
            continue
        largest = max(largest, window)
        attempts.append(Attempt(target.provider.name, target.model, SKIPPED))
    if not kept:
        raise ContextTooLong(needed_tokens, largest)
    if len(kept) == len(plan.targets):
        return plan
    return dataclasses.replace(plan, targets=tuple(kept))


def larger_window_plan(
    plan: RoutePlan, refused: PlannedTarget, code: str | None
) -> RoutePlan | None:
    """After `refused` answered context_length_exceeded: the later targets with a larger known
    window, or None (the refusal is then the answer)."""
    if code != CONTEXT_LENGTH_EXCEEDED or refused not in plan.targets:
        return None
    floor = context_window(refused.provider, refused.model) or 0
    later = plan.targets[plan.targets.index(refused) + 1 :]
    larger = tuple(
        target for target in later if (context_window(target.provider, target.model) or 0) > floor
    )
    return dataclasses.replace(plan, targets=larger) if larger else None
