"""The breaker gate the fallback loop uses (wired to the breaker registry)."""

from __future__ import annotations

from dataclasses import dataclass

from routerx.providers.base import ProviderConfig
from routerx.routing.fallback import Admission
from routerx.settings import Settings


@dataclass(frozen=True, slots=True)
class _Admitted:
    allowed: bool = True
    retry_after_s: float | None = None
    state_name: str = "closed"


class PassThroughGate:
    """Admits everything; replaced by the breaker registry."""

    def admit(self, provider: ProviderConfig) -> Admission:
        return _Admitted()

    def record(
        self,
        provider: ProviderConfig,
        admission: Admission,
        outcome: str,
        retry_after_s: float | None = None,
    ) -> None:
        return None

    def status(self) -> str:
        return "disabled"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def build_breaker_gate(settings: Settings) -> PassThroughGate:
    return PassThroughGate()
