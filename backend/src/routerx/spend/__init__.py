"""Spend: what each request and attempt cost, budgets per tenant and key, and their alerts."""
