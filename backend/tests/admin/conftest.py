"""Fixtures for the admin API tests; the harness itself is in admin_harness.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.admin.admin_harness import Admin, pg_admin


@pytest.fixture(scope="module")
async def admin() -> AsyncIterator[Admin]:
    """One admin API per test module, on a fresh PostgreSQL database."""
    async with pg_admin() as running:
        yield running


@pytest.fixture
async def own_admin() -> AsyncIterator[Admin]:
    """An admin API on a database of this test's own, for tests that count or list whole tables
    (audit entries, providers, request logs): rows other tests made cannot reach them."""
    async with pg_admin() as running:
        yield running
