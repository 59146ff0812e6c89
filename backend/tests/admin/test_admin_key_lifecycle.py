"""API keys after creation: edit name and limits, an expiry, rotation with a grace period."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx2

from routerx.storage.models import ApiKey, AuditEntry
from tests.admin.admin_harness import Admin

API = "/api/v1"


async def new_key(client: httpx2.AsyncClient, tenant_name: str, **body: Any) -> dict[str, Any]:
    tenant = (await client.post(f"{API}/tenants", json={"name": tenant_name})).json()
    made = await client.post(f"{API}/tenants/{tenant['id']}/keys", json=body)
    assert made.status_code == 201, made.text
    return dict(made.json())


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parsed(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_edit_name_limits_and_expiry(admin: Admin) -> None:
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=7)
    async with admin.as_admin() as client:
        made = await new_key(client, "key-edit", name="ci", expires_at=iso(soon))
        key = made["api_key"]
        path = f"{API}/tenants/{key['tenant_id']}/keys/{key['id']}"
        edited = await client.patch(path, json={"name": "deploy", "rpm_limit": 30})
        cleared = await client.patch(path, json={"expires_at": None, "tpm_limit": 1000})
        past = await client.patch(path, json={"expires_at": "2020-01-01T00:00:00Z"})
        nonsense = await client.patch(path, json={"expires_at": "next tuesday"})
    assert parsed(key["expires_at"]) == soon and key["expired"] is False
    assert edited.json()["name"] == "deploy" and edited.json()["rpm_limit"] == 30
    assert parsed(edited.json()["expires_at"]) == soon
    assert cleared.json()["expires_at"] is None and cleared.json()["tpm_limit"] == 1000
    assert past.status_code == 400 and past.json()["error"]["param"] == "expires_at"
    assert nonsense.status_code == 400 and nonsense.json()["error"]["param"] == "expires_at"


async def test_rotation_issues_a_new_key_and_ends_the_old_after_the_grace(admin: Admin) -> None:
    async with admin.as_admin() as client:
        made = await new_key(
            client, "key-rotate", name="svc", rpm_limit=9, tpm_limit=900, max_concurrency=3
        )
        old = made["api_key"]
        path = f"{API}/tenants/{old['tenant_id']}/keys/{old['id']}"
        before = dt.datetime.now(dt.UTC)
        rotated = await client.post(path + "/rotate", json={"grace_seconds": 600})
        twice = await client.post(path + "/rotate", json={})
        old_now = (await client.get(path)).json()
        new = rotated.json()["api_key"]
        new_path = f"{API}/tenants/{new['tenant_id']}/keys/{new['id']}"
        cut = await client.post(new_path + "/rotate", json={"grace_seconds": 0})
        new_now = (await client.get(new_path)).json()
        too_long = await client.post(
            f"{API}/tenants/{new['tenant_id']}/keys/{cut.json()['api_key']['id']}/rotate",
            json={"grace_seconds": 31 * 86_400},
        )
    assert rotated.status_code == 200, rotated.text
    plain = rotated.json()["key"]
    assert plain != made["key"] and plain.startswith(new["prefix"])
    limits = (new["name"], new["rpm_limit"], new["tpm_limit"], new["max_concurrency"])
    assert limits == ("svc", 9, 900, 3)
    grace_end = parsed(old_now["expires_at"])
    assert dt.timedelta(seconds=599) <= grace_end - before <= dt.timedelta(seconds=660)
    assert old_now["replaced_by_id"] == new["id"] and old_now["expired"] is False
    assert old_now["status"] == "active"
    assert twice.status_code == 400
    assert new_now["expired"] is True and new_now["replaced_by_id"] == cut.json()["api_key"]["id"]
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "grace_seconds"
    with admin.database.active():
        stored = await ApiKey.get(id=old["id"])
        actions = await AuditEntry.filter(resource_type="api_key").values_list("action", flat=True)
    assert stored.expires_at is not None and stored.replaced_by_id == new["id"]
    assert "rotate" in actions


async def test_a_key_from_the_configuration_file_is_not_rotated_here(admin: Admin) -> None:
    async with admin.as_admin() as client:
        made = await new_key(client, "key-managed", name="from-file")
        key = made["api_key"]
        with admin.database.active():
            await ApiKey.filter(id=key["id"]).update(managed_by="team.yaml")
        path = f"{API}/tenants/{key['tenant_id']}/keys/{key['id']}"
        refused = await client.post(path + "/rotate", json={"grace_seconds": 0})
        after = (await client.get(path)).json()
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "managed_by_file"
    assert after["expires_at"] is None and after["replaced_by_id"] is None
