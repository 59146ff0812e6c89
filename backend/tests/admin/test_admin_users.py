"""Admin users: admin-only management, no self-harm, sessions end with disable or reset."""

from __future__ import annotations

from tests.admin.admin_harness import Admin

API = "/api/v1"


async def test_user_management(admin: Admin) -> None:
    async with admin.as_admin() as client:
        made = await client.post(
            f"{API}/users", json={"username": "ops", "password": "ops-password", "role": "viewer"}
        )
        assert made.status_code == 201 and made.json()["role"] == "viewer"
        ops_id = made.json()["id"]
        duplicate = await client.post(
            f"{API}/users", json={"username": "ops", "password": "ops-password"}
        )
        weak = await client.post(f"{API}/users", json={"username": "w", "password": "short"})
        me = (await client.get(f"{API}/auth/me")).json()
        self_delete = await client.delete(f"{API}/users/{me['id']}")
        self_disable = await client.post(f"{API}/users/{me['id']}/disable")
        self_demote = await client.patch(f"{API}/users/{me['id']}", json={"role": "viewer"})
        listed = await client.get(f"{API}/users", params={"role": "viewer"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["param"] == "username"
    assert weak.status_code == 400 and weak.json()["error"]["param"] == "password"
    assert [r.status_code for r in (self_delete, self_disable, self_demote)] == [409] * 3
    assert {"ops", "viewer"} <= {u["username"] for u in listed.json()["data"]}

    ops_token = await admin.login("ops", "ops-password")
    async with admin.as_admin() as client:
        promoted = await client.patch(f"{API}/users/{ops_id}", json={"role": "admin"})
        assert promoted.json()["role"] == "admin"
        async with admin.client(ops_token) as ops:
            assert (await ops.get(f"{API}/users")).status_code == 200  # role read per request
        reset = await client.post(
            f"{API}/users/{ops_id}/password", json={"password": "new-one-password-1"}
        )
        assert reset.status_code == 200
        async with admin.client(ops_token) as ops:
            assert (await ops.get(f"{API}/auth/me")).status_code == 401
        fresh = await admin.login("ops", "new-one-password-1")
        assert (await client.post(f"{API}/users/{ops_id}/disable")).json()["disabled"] is True
        async with admin.client(fresh) as ops:
            assert (await ops.get(f"{API}/auth/me")).status_code == 401
        assert (await client.post(f"{API}/users/{ops_id}/enable")).json()["disabled"] is False
        assert (await client.delete(f"{API}/users/{ops_id}")).status_code == 204
        assert (await client.get(f"{API}/users/{ops_id}")).status_code == 404
        audit = await client.get(f"{API}/audit", params={"resource_type": "user", "limit": 20})
    actions = [entry["action"] for entry in audit.json()["data"]]
    assert {"create", "update", "reset_password", "disable", "enable", "delete"} <= set(actions)
    assert "new-one-password-1" not in audit.text and "ops-password" not in audit.text
