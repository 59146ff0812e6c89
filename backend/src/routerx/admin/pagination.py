"""Offset pagination for the configuration lists, and the shared query field types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.queryset import QuerySet

from routerx.admin.errors import invalid

T = TypeVar("T")
M = TypeVar("M")

Limit = Annotated[int, msgspec.Meta(ge=1, le=200, description="Page size.")]
Offset = Annotated[int, msgspec.Meta(ge=0, le=1_000_000, description="Items to skip.")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Timestamp = Annotated[dt.datetime, msgspec.Meta(extra_json_schema={"format": "date-time"})]
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
# Filter values no longer than their column (Tortoise refuses longer ones), without controls.
Text32 = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=PRINTABLE)]
Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=PRINTABLE)]
Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=PRINTABLE)]
SearchText = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=PRINTABLE)]


class PageQuery(msgspec.Struct, kw_only=True):
    limit: Limit = 50
    offset: Offset = 0


class Page(msgspec.Struct, Generic[T]):
    data: list[T]
    total: int
    limit: int
    offset: int


def as_utc(moment: dt.datetime, param: str | None = None) -> dt.datetime:
    """Query times without an offset are read as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise invalid("The time is out of range.", param) from None


def time_range(
    column: str, since: dt.datetime | UnsetType, until: dt.datetime | UnsetType
) -> dict[str, Any]:
    """Filters for `from` (inclusive) and `to` (exclusive) on a datetime column."""
    filters: dict[str, Any] = {}
    if since is not UNSET:
        filters[f"{column}__gte"] = as_utc(since, "from")
    if until is not UNSET:
        filters[f"{column}__lt"] = as_utc(until, "to")
    return filters


async def paginate(
    queryset: QuerySet[Any], page: PageQuery, view: Callable[[Any], T], *order: str
) -> Page[T]:
    total = await queryset.count()
    rows = await queryset.order_by(*(order or ("id",))).offset(page.offset).limit(page.limit)
    return Page([view(row) for row in rows], total, page.limit, page.offset)
