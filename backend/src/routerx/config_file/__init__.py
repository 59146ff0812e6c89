"""Configuration as code: one declarative file (YAML or JSON) for providers, routing rules,
tenants and their API keys, validated by the same types as the admin API, compared with the
database (`diff`), applied in one transaction (`apply`) and written back out (`export`).
"""
