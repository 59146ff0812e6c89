"""Tortoise models: everything RouterX keeps in its database."""

from routerx.storage.models.admin import AdminUser, AuditEntry, RevokedToken
from routerx.storage.models.config import ConfigVersion, Provider, RoutingRule
from routerx.storage.models.request_log import RequestLog
from routerx.storage.models.spend import Budget, BudgetAlert, PriceOverride, SpendPeriod
from routerx.storage.models.tenancy import ApiKey, Tenant

__all__ = [
    "AdminUser",
    "ApiKey",
    "AuditEntry",
    "Budget",
    "BudgetAlert",
    "ConfigVersion",
    "PriceOverride",
    "Provider",
    "RequestLog",
    "RevokedToken",
    "RoutingRule",
    "SpendPeriod",
    "Tenant",
]
