"""Loading and querying the model catalog."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import msgspec

from routerx.catalog.model_info import ModelInfo

# Dated snapshots resolve to their family: gpt-4.1-mini-2025-04-14, claude-haiku-4-5-20251001.
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


class CatalogFile(msgspec.Struct, frozen=True):
    schema: int
    models: tuple[ModelInfo, ...]
    currency: str = "USD"
    unit: str = "per 1M tokens"
    checked: str = ""
    notes: str = ""


class Catalog:
    """Models by name and alias; `get` also accepts dated snapshots and `provider/model`."""

    def __init__(self, models: tuple[ModelInfo, ...], checked: str = "") -> None:
        self.models = models
        self.checked = checked
        self._by_name: dict[str, ModelInfo] = {}
        for info in models:
            for name in (info.model, *info.aliases):
                self._by_name[name.lower()] = info

    def get(self, model: str) -> ModelInfo | None:
        name = model.strip().lower()
        found = self._by_name.get(name)
        if found is None and "/" in name:
            found = self._by_name.get(name.rsplit("/", 1)[1])
            name = name.rsplit("/", 1)[1]
        if found is None:
            undated = _DATE_SUFFIX.sub("", name)
            if undated != name:
                found = self._by_name.get(undated)
        return found


def parse_catalog(data: bytes) -> Catalog:
    parsed = msgspec.json.decode(data, type=CatalogFile)
    return Catalog(parsed.models, parsed.checked)


@cache
def bundled_catalog() -> Catalog:
    data = resources.files("routerx.catalog").joinpath("models.json").read_bytes()
    return parse_catalog(data)


def lookup(model: str) -> ModelInfo | None:
    """The bundled catalog's entry for `model`, or None when the model is not listed."""
    return bundled_catalog().get(model)
