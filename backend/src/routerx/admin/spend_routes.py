"""The spend part of the admin API: spend analytics, budgets on tenants and keys, prices."""

from __future__ import annotations

from routerx.admin import budgets, prices, spend_report
from routerx.admin.endpoint import Endpoint

API = "/api/v1"
TENANT = API + "/tenants/{tenant_id:int}"
KEY = TENANT + "/keys/{key_id:int}"

SPEND_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        API + "/spend",
        spend_report.read_spend,
        "viewer",
        "Spend per time bucket, grouped by tenant, key, provider, model or rule",
        "spend",
        spend_report.SpendReport,
        query=spend_report.SpendQuery,
    ),
    Endpoint(
        "GET",
        API + "/budgets",
        budgets.list_budgets,
        "viewer",
        "Every budget and where it stands this period",
        "spend",
        budgets.BudgetList,
    ),
    *(
        endpoint
        for path, what in ((TENANT, "tenant"), (KEY, "API key"))
        for endpoint in (
            Endpoint(
                "GET",
                path + "/budget",
                budgets.read_budget,
                "viewer",
                f"The {what}'s budget and its spend this period",
                "spend",
                budgets.BudgetView,
            ),
            Endpoint(
                "PUT",
                path + "/budget",
                budgets.put_budget,
                "admin",
                f"Set the {what}'s budget",
                "spend",
                budgets.BudgetView,
                body=budgets.BudgetSet,
            ),
            Endpoint(
                "DELETE",
                path + "/budget",
                budgets.delete_budget,
                "admin",
                f"Remove the {what}'s budget",
                "spend",
                status=204,
            ),
        )
    ),
    Endpoint(
        "GET",
        API + "/prices",
        prices.read_prices,
        "viewer",
        "The price table: catalog, loaded tables and overrides",
        "spend",
        prices.PriceTable,
        query=prices.PriceQuery,
    ),
    Endpoint(
        "PUT",
        API + "/prices/overrides",
        prices.put_override,
        "admin",
        "Set the price of a provider's upstream model",
        "spend",
        prices.PriceRow,
        body=prices.OverrideSet,
    ),
    Endpoint(
        "DELETE",
        API + "/prices/overrides/{override_id:int}",
        prices.delete_override,
        "admin",
        "Remove a price override",
        "spend",
        status=204,
    ),
)
