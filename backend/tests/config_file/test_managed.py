"""Resources from the file are marked managed in the API and refuse edits there (409, naming the
file) unless CONFIG_FILE_ALLOW_API_EDITS is set; CONFIG_FILE is applied at start and on SIGHUP."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypercorn.utils import LifespanFailureError

from routerx.config_file.apply import apply_file
from routerx.config_file.loader import load_file
from routerx.config_file.service import ConfigFileStartError
from routerx.storage.models import ApiKey, AuditEntry, Provider, RoutingRule, Tenant
from tests.admin.admin_harness import Admin, pg_admin, wait_until
from tests.config_file.files import complete, write

CI_ONLY = complete().replace("      - name: laptop\n        tpm_limit: 100000\n", "")


async def ids(admin: Admin) -> dict[str, int]:
    with admin.database.active():
        tenant = await Tenant.get(name="acme")
        return {
            "provider": (await Provider.get(name="primary")).id,
            "rule": (await RoutingRule.get(name="chat")).id,
            "tenant": tenant.id,
            "key": (await ApiKey.get(name="ci")).id,
        }


async def test_managed_resources_refuse_api_edits_naming_the_file(tmp_path: Path) -> None:
    async with pg_admin() as admin:
        with admin.database.active():
            await apply_file(load_file(write(tmp_path, complete())), actor="tester")
        found = await ids(admin)
        tenant = f"/api/v1/tenants/{found['tenant']}"
        key = f"{tenant}/keys/{found['key']}"
        async with admin.as_admin() as client:
            shown = (await client.get(f"/api/v1/providers/{found['provider']}")).json()
            assert shown["managed_by"] == "routerx.yaml"
            assert (await client.get(key)).json()["managed_by"] == "routerx.yaml"
            attempts = [
                client.patch(f"/api/v1/providers/{found['provider']}", json={"enabled": False}),
                client.delete(f"/api/v1/providers/{found['provider']}"),
                client.patch(f"/api/v1/rules/{found['rule']}", json={"enabled": False}),
                client.delete(f"/api/v1/rules/{found['rule']}"),
                client.patch(tenant, json={"rpm_limit": 1}),
                client.delete(tenant),
                client.patch(key, json={"rpm_limit": 1}),
                client.post(key + "/revoke"),
                client.delete(key),
            ]
            for attempt in attempts:
                response = await attempt
                assert response.status_code == 409, response.text
                error = response.json()["error"]
                assert error["code"] == "managed_by_file"
                assert "routerx.yaml" in error["message"]
                assert "CONFIG_FILE_ALLOW_API_EDITS" in error["message"]
            created = await client.post("/api/v1/providers", json={"name": "own", "type": "mock"})
            assert created.status_code == 201 and created.json()["managed_by"] is None
            own = created.json()["id"]
            patched = await client.patch(f"/api/v1/providers/{own}", json={"enabled": False})
            assert patched.status_code == 200
        with admin.database.active():
            assert (await Provider.get(name="primary")).enabled
            assert (await Tenant.get(name="acme")).rpm_limit == 600


async def test_the_override_allows_api_edits(tmp_path: Path) -> None:
    async with pg_admin(config_file_allow_api_edits=True) as admin:
        with admin.database.active():
            await apply_file(load_file(write(tmp_path, complete())), actor="tester")
        found = await ids(admin)
        async with admin.as_admin() as client:
            response = await client.patch(
                f"/api/v1/tenants/{found['tenant']}", json={"rpm_limit": 5}
            )
        assert response.status_code == 200 and response.json()["rpm_limit"] == 5


async def test_config_file_is_applied_at_start_and_on_sighup(tmp_path: Path) -> None:
    path = write(tmp_path, CI_ONLY)
    async with pg_admin(config_file=path) as admin:
        with admin.database.active():
            assert (await Tenant.get(name="acme")).managed_by == "routerx.yaml"
            entry = await AuditEntry.get(action="apply")
            assert entry.actor == "config-file"
        write(tmp_path, CI_ONLY.replace("rpm_limit: 600", "rpm_limit: 750"))
        os.kill(os.getpid(), signal.SIGHUP)

        async def reloaded() -> bool:
            with admin.database.active():
                return (await Tenant.get(name="acme")).rpm_limit == 750

        await wait_until(reloaded)
        # A file that does not apply on SIGHUP leaves the running configuration as it is.
        write(tmp_path, CI_ONLY.replace("rpm_limit: 600", "rpm_limit: nope"))
        os.kill(os.getpid(), signal.SIGHUP)
        write(tmp_path, CI_ONLY.replace("rpm_limit: 600", "rpm_limit: 800"))
        os.kill(os.getpid(), signal.SIGHUP)

        async def reloaded_again() -> bool:
            with admin.database.active():
                return (await Tenant.get(name="acme")).rpm_limit == 800

        await wait_until(reloaded_again)
        async with admin.as_admin() as client:
            tenants = (await client.get("/api/v1/tenants")).json()["data"]
        assert [t["managed_by"] for t in tenants if t["name"] == "acme"] == ["routerx.yaml"]


async def test_a_file_that_does_not_apply_stops_the_start(tmp_path: Path) -> None:
    path = write(tmp_path, complete())  # key `laptop` has no digest: a service shows no keys
    with pytest.raises(LifespanFailureError) as caught:
        async with pg_admin(config_file=path):
            pass
    assert ConfigFileStartError.__name__ in str(caught.value)
    line = complete().splitlines().index("      - name: laptop") + 1
    assert f"{path}:{line}: tenants[0].keys[1]: a new key needs its digest" in str(caught.value)
