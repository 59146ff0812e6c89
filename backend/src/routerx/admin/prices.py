"""The price table: the bundled catalog with the overrides and loaded tables on top.
Viewers read it; admins set and remove overrides (per provider and upstream model)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.admin.endpoint import Call
from routerx.admin.errors import invalid, not_found
from routerx.admin.pagination import Text100, Timestamp
from routerx.catalog import ModelInfo, Prices, PriceTier, bundled_catalog
from routerx.spend.config import ANY_PROVIDER
from routerx.spend.price_file import prices_json
from routerx.spend.price_table import save_price
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import PriceOverride

PriceText = Annotated[str, msgspec.Meta(pattern=r"^\d{1,6}(\.\d{1,9})?$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x20\x7f]+$")]
ProviderName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x20\x7f]+$")
]
Tokens = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]


class PriceFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """USD per million tokens as decimal strings; leave a field out when it is not billed."""

    input: PriceText | None = None
    cached_input: PriceText | None = None
    cache_write_5m: PriceText | None = None
    cache_write_1h: PriceText | None = None
    output: PriceText | None = None
    audio_input: PriceText | None = None
    audio_output: PriceText | None = None


class TierSet(msgspec.Struct, forbid_unknown_fields=True):
    above_prompt_tokens: Tokens
    prices: PriceFields


class OverrideSet(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    provider: ProviderName  # a provider's name, or "*" for any provider
    model: Name  # the upstream model
    prices: PriceFields
    tiers: Annotated[list[TierSet], msgspec.Meta(max_length=5)] = msgspec.field(
        default_factory=list
    )
    context_window: Tokens | None = None
    max_output: Tokens | None = None
    note: Annotated[str, msgspec.Meta(max_length=300)] = ""


class PriceRow(msgspec.Struct):
    provider: str
    model: str
    origin: str  # catalog | override | table
    prices: dict[str, str]
    tiers: list[dict[str, Any]]
    context_window: int | None
    max_output: int | None
    source: str
    checked: str | None
    notes: str
    override_id: int | None = None
    updated_at: Timestamp | None = None


class PriceTable(msgspec.Struct):
    checked: str
    data: list[PriceRow]


class PriceQuery(msgspec.Struct, kw_only=True):
    model: Text100 | UnsetType = msgspec.field(default=UNSET, name="q")


def _tiers(info: ModelInfo) -> list[dict[str, Any]]:
    return [
        {"above_prompt_tokens": t.above_prompt_tokens, "prices": prices_json(t.prices)}
        for t in info.tiers
    ]


def override_row(record: PriceOverride) -> PriceRow:
    return PriceRow(
        record.provider,
        record.model,
        "table" if record.provider == ANY_PROVIDER else "override",
        dict(record.prices or {}),
        list(record.tiers or []),
        record.context_window,
        record.max_output,
        record.source,
        None,
        "",
        record.id,
        record.updated_at,
    )


async def read_prices(call: Call) -> PriceTable:
    query: PriceQuery = call.query
    wanted = query.model.lower() if query.model is not UNSET else None
    catalog = bundled_catalog()
    rows = [override_row(r) for r in await PriceOverride.all().order_by("provider", "model")]
    rows += [
        PriceRow(
            info.provider,
            info.model,
            "catalog",
            prices_json(info.prices),
            _tiers(info),
            info.context_window,
            info.max_output,
            info.source,
            info.checked,
            info.notes,
        )
        for info in catalog.models
    ]
    if wanted:
        rows = [r for r in rows if wanted in r.model.lower()]
    return PriceTable(catalog.checked, rows)


def _prices(fields: PriceFields, where: str) -> Prices:
    values: dict[str, Decimal] = {}
    for name, text in msgspec.structs.asdict(fields).items():
        if text is None:
            continue
        try:
            values[name] = Decimal(text)
        except InvalidOperation:
            raise invalid("Prices are decimal strings.", f"{where}.{name}") from None
    return Prices(**values)


async def put_override(call: Call) -> PriceRow:
    body: OverrideSet = call.body
    base = _prices(body.prices, "prices")
    if base.input is None and base.output is None:
        raise invalid("Give at least an input or an output price.", "prices")
    tiers = tuple(
        PriceTier(t.above_prompt_tokens, _prices(t.prices, f"tiers[{i}].prices"))
        for i, t in enumerate(body.tiers)
    )
    info = ModelInfo(
        model=body.model,
        provider=body.provider,
        context_window=body.context_window,
        max_output=body.max_output,
        prices=base,
        tiers=tiers,
    )
    async with in_transaction():
        before = await PriceOverride.get_or_none(provider=body.provider, model=body.model)
        before_row = override_row(before) if before is not None else None
        record = await save_price(body.provider, info, body.note or f"set by {call.actor}")
        after = override_row(record)
        await audit.record(
            call.actor,
            "update" if before_row else "create",
            "price",
            record.id,
            before_row,
            after,
        )
    await bump_config_version()
    return after


async def delete_override(call: Call) -> None:
    record = await PriceOverride.get_or_none(id=call.path["override_id"])
    if record is None:
        raise not_found("Price override", call.path["override_id"])
    async with in_transaction():
        await audit.record(call.actor, "delete", "price", record.id, override_row(record))
        await record.delete()
    await bump_config_version()
