"""Which price applies to an answer: an admin's override for the provider and upstream model,
else a loaded price table's entry for the model, else the bundled catalog."""

from __future__ import annotations

from routerx.catalog import Catalog, ModelInfo, bundled_catalog
from routerx.spend.config import ANY_PROVIDER, PriceEntry
from routerx.spend.rates import ModelRates

# Rules without a target model pass the client's model name through: bound what is cached.
MAX_CACHED = 4096


class PriceBook:
    def __init__(self, entries: tuple[PriceEntry, ...] = (), catalog: Catalog | None = None):
        self._catalog = catalog or bundled_catalog()
        self._entries = {(e.provider, e.model.lower()): e for e in entries}
        self._tables = Catalog(tuple(e.info for e in entries if e.provider == ANY_PROVIDER))
        self._rates: dict[tuple[str, str], ModelRates | None] = {}

    def info(self, provider: str, model: str) -> tuple[ModelInfo, str] | None:
        """The model's prices and where they come from: override | table | catalog."""
        entry = self._entries.get((provider, model.lower()))
        if entry is not None:
            return entry.info, "override"
        loaded = self._tables.get(model)
        if loaded is not None:
            return loaded, "table"
        listed = self._catalog.get(model)
        return (listed, "catalog") if listed is not None else None

    def rates(self, provider: str, model: str) -> ModelRates | None:
        key = (provider, model)
        if key not in self._rates:
            if len(self._rates) >= MAX_CACHED:
                self._rates.clear()
            found = self.info(provider, model)
            self._rates[key] = ModelRates.of(found[0], found[1]) if found is not None else None
        return self._rates[key]
