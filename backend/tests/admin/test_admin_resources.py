"""Tenants, API keys, providers and routing rules: validation, audit, and the config version."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from routerx.auth.api_keys import digest_key
from routerx.storage.config_version import current_config_version
from routerx.storage.models import ApiKey, AuditEntry, Provider
from tests.admin.admin_harness import Admin, pg_admin

API = "/api/v1"


async def config_version(admin: Admin) -> int:
    with admin.database.active():
        return await current_config_version()


async def created(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(API + path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def audit_text(admin: Admin) -> str:
    with admin.database.active():
        entries = await AuditEntry.all().values("before", "after")
    return json.dumps(entries)


async def test_tenant_lifecycle_bumps_the_config_version_and_is_audited(own_admin: Admin) -> None:
    admin = own_admin
    async with admin.as_admin() as client:
        before = await config_version(admin)
        tenant = await created(
            client, "/tenants", {"name": "acme", "rpm_limit": 60, "allowed_models": ["gpt-*"]}
        )
        assert await config_version(admin) > before
        assert tenant["status"] == "active" and tenant["allowed_models"] == ["gpt-*"]
        patched = await client.patch(
            f"{API}/tenants/{tenant['id']}", json={"status": "disabled", "tpm_limit": 1000}
        )
        assert patched.status_code == 200
        assert patched.json()["status"] == "disabled" and patched.json()["rpm_limit"] == 60
        listed = await client.get(f"{API}/tenants", params={"status": "disabled", "q": "acm"})
        assert [t["name"] for t in listed.json()["data"]] == ["acme"]
        duplicate = await client.post(f"{API}/tenants", json={"name": "acme"})
        assert duplicate.status_code == 409 and duplicate.json()["error"]["param"] == "name"
        version = await config_version(admin)
        assert (await client.delete(f"{API}/tenants/{tenant['id']}")).status_code == 204
        assert await config_version(admin) > version
        assert (await client.get(f"{API}/tenants/{tenant['id']}")).status_code == 404
        audit = await client.get(f"{API}/audit", params={"resource_type": "tenant"})
    actions = [entry["action"] for entry in audit.json()["data"]]
    assert actions == ["delete", "update", "create"]  # newest first
    update = audit.json()["data"][1]
    assert update["actor"] == "admin"
    assert update["before"]["status"] == "active" and update["after"]["status"] == "disabled"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "status": "paused"}, "status"),
        ({"name": "x", "rpm_limit": 0}, "rpm_limit"),
        ({"name": "x", "tpm_limit": "many"}, "tpm_limit"),
        ({"name": "x", "allowed_models": ["ok", ""]}, "allowed_models[1]"),
        ({"name": "x", "surprise": True}, "surprise"),
        ({"name": "x\u0000y"}, "name"),
    ],
)
async def test_tenant_validation_names_the_field(
    admin: Admin, body: dict[str, Any], param: str
) -> None:
    async with admin.as_admin() as client:
        response = await client.post(f"{API}/tenants", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


async def test_bad_bodies_are_4xx_json_never_500(admin: Admin) -> None:
    async with admin.as_admin() as client:
        not_json = await client.post(
            f"{API}/tenants", content=b"{nope", headers={"content-type": "application/json"}
        )
        wrong_type = await client.post(
            f"{API}/tenants", content=b"name=x", headers={"content-type": "text/plain"}
        )
        array = await client.post(f"{API}/tenants", json=[1])
        huge = await client.post(
            f"{API}/tenants",
            content=b" " * (1024 * 1024 + 1),
            headers={"content-type": "application/json"},
        )
        bad_query = await client.get(f"{API}/tenants", params={"limit": "lots"})
    assert (not_json.status_code, wrong_type.status_code, array.status_code) == (400, 415, 400)
    assert huge.status_code == 413
    assert bad_query.status_code == 400 and bad_query.json()["error"]["param"] == "limit"


async def test_a_key_is_shown_once_then_only_its_prefix(admin: Admin) -> None:
    async with admin.as_admin() as client:
        tenant = await created(client, "/tenants", {"name": "keyed"})
        made = await created(
            client, f"/tenants/{tenant['id']}/keys", {"name": "ci", "rpm_limit": 5}
        )
        plain, key = made["key"], made["api_key"]
        assert plain.startswith("rx_") and plain.startswith(key["prefix"])
        assert key["rpm_limit"] == 5 and key["last_used_at"] is None
        read = await client.get(f"{API}/tenants/{tenant['id']}/keys/{key['id']}")
        listed = await client.get(f"{API}/tenants/{tenant['id']}/keys")
        revoked = await client.post(f"{API}/tenants/{tenant['id']}/keys/{key['id']}/revoke")
        again = await client.post(f"{API}/tenants/{tenant['id']}/keys/{key['id']}/revoke")
        active = await client.get(f"{API}/tenants/{tenant['id']}/keys", params={"status": "active"})
    for response in (read, listed, revoked):
        assert plain not in response.text and digest_key(plain) not in response.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    assert again.status_code == 200
    assert active.json()["total"] == 0
    with admin.database.active():
        stored = await ApiKey.get(id=key["id"])
    assert stored.digest == digest_key(plain)  # the gateway can check it
    recorded = await audit_text(admin)
    assert plain not in recorded and digest_key(plain) not in recorded


async def test_provider_secret_is_write_only_and_masked_in_the_audit(own_admin: Admin) -> None:
    admin = own_admin
    secret = "sk-very-secret-value-123"
    async with admin.as_admin() as client:
        provider = await created(
            client,
            "/providers",
            {
                "name": "openai-main",
                "type": "openai",
                "base_url": "https://api.openai.com/v1",
                "capabilities": ["text", "vision", "tools"],
                "secret": secret,
                "model_map": {"gpt-4.1-mini": "gpt-4.1-mini-2025"},
                "settings": {
                    "timeouts": {"connect_s": 2},
                    "breaker": {"min_calls": 4},
                    "mock": {"latency_ms": 20, "failure_rate": 0.5},
                },
            },
        )
        assert provider["secret_set"] is True and "secret" not in provider
        replaced = await client.patch(
            f"{API}/providers/{provider['id']}", json={"secret_env": "ROUTERX_PROVIDER_OPENAI_KEY"}
        )
        cleared = await client.patch(f"{API}/providers/{provider['id']}", json={"secret_env": None})
        listing = await client.get(f"{API}/providers", params={"capability": "vision"})
    assert replaced.json()["secret_set"] is True
    assert replaced.json()["secret_env"] == "ROUTERX_PROVIDER_OPENAI_KEY"
    assert cleared.json()["secret_set"] is False
    assert provider["settings"] == {
        "timeouts": {"connect_s": 2.0},
        "breaker": {"min_calls": 4},
        "mock": {"latency_ms": 20, "failure_rate": 0.5},
    }
    assert [p["name"] for p in listing.json()["data"]] == ["openai-main"]
    with admin.database.active():
        stored = await Provider.get(id=provider["id"])
    recorded = await audit_text(admin)
    for text in (provider, replaced.text, listing.text, recorded):
        assert secret not in str(text)
    assert "********" in recorded
    assert stored.secret_ciphertext is None  # replaced by the environment variable


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "p", "type": "cohere"}, "type"),
        ({"name": "p", "type": "openai", "base_url": "ftp://example.com"}, "base_url"),
        ({"name": "p", "type": "openai", "base_url": "https://u:p@example.com"}, "base_url"),
        ({"name": "p", "type": "openai_compatible"}, "base_url"),
        ({"name": "p", "type": "mock", "capabilities": ["text", "smell"]}, "capabilities[1]"),
        ({"name": "p", "type": "anthropic", "capabilities": ["text", "audio"]}, "capabilities"),
        ({"name": "p", "type": "mock", "capabilities": ["text", "text"]}, "capabilities"),
        ({"name": "p", "type": "mock", "capabilities": []}, "capabilities"),
        (
            {"name": "p", "type": "anthropic", "capabilities": ["text", "embeddings"]},
            "capabilities",
        ),
        (
            {"name": "p", "type": "mock", "settings": {"mock": {"failure_rate": 2}}},
            "settings.mock.failure_rate",
        ),
        (
            {"name": "p", "type": "mock", "settings": {"timeouts": {"idle_s": 0}}},
            "settings.timeouts.idle_s",
        ),
        (
            {"name": "p", "type": "mock", "settings": {"breaker": {"open_s": 50, "max_open_s": 5}}},
            "settings.breaker",
        ),
        ({"name": "p", "type": "mock", "settings": {"colour": "red"}}, "settings.colour"),
        ({"name": "p", "type": "mock", "secret": "a", "secret_env": "B"}, "secret_env"),
        ({"name": "p", "type": "mock", "secret_env": "not valid"}, "secret_env"),
        ({"name": "has space", "type": "mock"}, "name"),
    ],
)
async def test_provider_validation_names_the_field(
    admin: Admin, body: dict[str, Any], param: str
) -> None:
    async with admin.as_admin() as client:
        response = await client.post(f"{API}/providers", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


async def test_rules_must_target_existing_capable_providers(admin: Admin) -> None:
    async with admin.as_admin() as client:
        await created(client, "/providers", {"name": "text-only", "type": "mock"})
        await created(
            client,
            "/providers",
            {"name": "seeing", "type": "mock", "capabilities": ["text", "vision"]},
        )
        tenant = await created(client, "/tenants", {"name": "rule-tenant"})

        async def rule(body: dict[str, Any]) -> httpx2.Response:
            return await client.post(f"{API}/rules", json=body)

        blind = await rule(
            {
                "name": "v",
                "model_pattern": "gpt-*",
                "capability": "vision",
                "targets": [{"provider": "seeing"}, {"provider": "text-only", "tier": 1}],
            }
        )
        missing = await rule(
            {"name": "m", "model_pattern": "x", "targets": [{"provider": "ghost"}]}
        )
        empty = await rule({"name": "e", "model_pattern": "x", "targets": []})
        weightless = await rule(
            {"name": "w", "model_pattern": "x", "targets": [{"provider": "seeing", "weight": 0}]}
        )
        no_tenant = await rule(
            {
                "name": "t",
                "model_pattern": "x",
                "tenant_id": 999999,
                "targets": [{"provider": "seeing"}],
            }
        )
        good = await rule(
            {
                "name": "vision-rule",
                "model_pattern": "gpt-*",
                "capability": "vision",
                "tenant_id": tenant["id"],
                "hedge_delay_ms": 300,
                "targets": [
                    {"provider": "seeing", "model": "gpt-4o", "weight": 3},
                    {"provider": "seeing", "tier": 1},
                ],
            }
        )
        assert good.status_code == 201, good.text
        rule_id = good.json()["id"]
        retarget = await client.patch(
            f"{API}/rules/{rule_id}", json={"targets": [{"provider": "text-only"}]}
        )
        strip_vision = await client.patch(
            f"{API}/providers/{(await provider_id(client, 'seeing'))}",
            json={"capabilities": ["text"]},
        )
        rename = await client.patch(
            f"{API}/providers/{(await provider_id(client, 'seeing'))}", json={"name": "eyes"}
        )
        delete = await client.delete(f"{API}/providers/{(await provider_id(client, 'seeing'))}")
    assert blind.status_code == 400 and blind.json()["error"]["param"] == "targets[1].provider"
    assert missing.json()["error"]["param"] == "targets[0].provider"
    assert empty.json()["error"]["param"] == "targets"
    assert weightless.json()["error"]["param"] == "targets[0].weight"
    assert no_tenant.json()["error"]["param"] == "tenant_id"
    assert good.json()["targets"][0] == {
        "provider": "seeing",
        "model": "gpt-4o",
        "weight": 3,
        "tier": 0,
    }
    assert retarget.status_code == 400
    assert (strip_vision.status_code, rename.status_code, delete.status_code) == (409, 409, 409)


async def provider_id(client: httpx2.AsyncClient, name: str) -> int:
    providers = (await client.get(f"{API}/providers", params={"limit": 200})).json()["data"]
    return next(int(p["id"]) for p in providers if p["name"] == name)


async def test_list_pagination(admin: Admin) -> None:
    async with admin.as_admin() as client:
        for index in range(5):
            await created(client, "/tenants", {"name": f"page-{index}"})
        first = await client.get(f"{API}/tenants", params={"q": "page-", "limit": 2})
        third = await client.get(f"{API}/tenants", params={"q": "page-", "limit": 2, "offset": 4})
    assert first.json()["total"] == 5 and len(first.json()["data"]) == 2
    assert [t["name"] for t in third.json()["data"]] == ["page-4"]


async def test_embeddings_rules_target_embeddings_providers(admin: Admin) -> None:
    async with admin.as_admin() as client:
        await created(client, "/providers", {"name": "chat-only", "type": "mock"})
        embedder = await created(
            client,
            "/providers",
            {"name": "embedder", "type": "gemini", "capabilities": ["embeddings"]},
        )
        wrong = await client.post(
            f"{API}/rules",
            json={
                "name": "emb",
                "model_pattern": "text-embedding-3-small",
                "capability": "embeddings",
                "targets": [{"provider": "embedder"}, {"provider": "chat-only", "tier": 1}],
            },
        )
        good = await created(
            client,
            "/rules",
            {
                "name": "emb",
                "model_pattern": "text-embedding-3-small",
                "capability": "embeddings",
                "targets": [{"provider": "embedder", "model": "gemini-embedding-001"}],
            },
        )
        listed = await client.get(f"{API}/rules", params={"capability": "embeddings"})
        strip = await client.patch(
            f"{API}/providers/{embedder['id']}", json={"capabilities": ["text"]}
        )
    assert embedder["capabilities"] == ["embeddings"]
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "targets[1].provider"
    assert good["capability"] == "embeddings"
    assert [r["name"] for r in listed.json()["data"]] == ["emb"]
    assert strip.status_code == 409


async def test_rules_carry_their_failover_options(admin: Admin) -> None:
    async with admin.as_admin() as client:
        await client.post(f"{API}/providers", json={"name": "opts", "type": "mock"})
        base = {"model_pattern": "opt-model", "targets": [{"provider": "opts"}]}
        plain = await client.post(f"{API}/rules", json={**base, "name": "plain"})
        chosen = await client.post(
            f"{API}/rules",
            json={
                **base,
                "name": "chosen",
                "stream_rescue": "continue",
                "on_transient": "fail_over",
            },
        )
        bad = await client.post(
            f"{API}/rules", json={**base, "name": "bad", "stream_rescue": "always"}
        )
        patched = await client.patch(
            f"{API}/rules/{plain.json()['id']}", json={"stream_rescue": "continue"}
        )
    assert (plain.json()["stream_rescue"], plain.json()["on_transient"]) == ("error", "retry_same")
    assert chosen.status_code == 201, chosen.text
    assert (chosen.json()["stream_rescue"], chosen.json()["on_transient"]) == (
        "continue",
        "fail_over",
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "stream_rescue"
    assert patched.json()["stream_rescue"] == "continue"


@pytest.mark.parametrize(
    "name", ["JWT_SECRET", "DATABASE_URL", "ROUTERX_SECRET_KEY", "ROUTERX_PROVIDER_", "HOME"]
)
async def test_secret_env_may_name_only_provider_variables(admin: Admin, name: str) -> None:
    async with admin.as_admin() as client:
        created = await client.post(
            f"{API}/providers",
            json={"name": f"env-{name.lower()}", "type": "mock", "secret_env": name},
        )
        provider = (
            await client.post(
                f"{API}/providers", json={"name": f"ok-{name.lower()}", "type": "mock"}
            )
        ).json()
        patched = await client.patch(f"{API}/providers/{provider['id']}", json={"secret_env": name})
    for refused in (created, patched):
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "secret_env"


async def test_an_allow_listed_variable_may_be_named() -> None:
    allowed = frozenset({"OPENAI_API_KEY"})
    async with pg_admin(provider_secret_env_allowlist=allowed) as admin, admin.as_admin() as client:
        listed = await client.post(
            f"{API}/providers", json={"name": "a", "type": "mock", "secret_env": "OPENAI_API_KEY"}
        )
        other = await client.post(
            f"{API}/providers", json={"name": "b", "type": "mock", "secret_env": "JWT_SECRET"}
        )
    assert listed.status_code == 201 and other.status_code == 400


@pytest.mark.parametrize(
    "change",
    [
        {"base_url": "https://attacker.example/v1"},
        {"type": "openai_compatible", "base_url": "https://api.openai.com/v1"},
    ],
)
@pytest.mark.parametrize("secret", [{"secret": "sk-stored"}, {"secret_env": "ROUTERX_PROVIDER_X"}])
async def test_moving_a_provider_upstream_drops_its_secret(
    admin: Admin, change: dict[str, str], secret: dict[str, str]
) -> None:
    name = f"mover-{len(change)}-{next(iter(secret))}"
    async with admin.as_admin() as client:
        provider = (
            await client.post(
                f"{API}/providers",
                json={
                    "name": name,
                    "type": "openai",
                    "base_url": "https://api.openai.com/v1",
                    **secret,
                },
            )
        ).json()
        assert provider["secret_set"] is True
        moved = await client.patch(f"{API}/providers/{provider['id']}", json=change)
        resent = await client.patch(
            f"{API}/providers/{provider['id']}",
            json={"base_url": "https://other.example/v1", "secret": "sk-new"},
        )
        renamed = await client.patch(
            f"{API}/providers/{provider['id']}", json={"name": name + "-x"}
        )
    assert moved.status_code == 200 and moved.json()["secret_set"] is False
    assert moved.json()["secret_env"] is None
    assert resent.json()["secret_set"] is True  # sent again with the move: kept
    assert renamed.json()["secret_set"] is True  # other changes keep it
    with admin.database.active():
        stored = await Provider.get(id=provider["id"])
    assert stored.secret_ciphertext is not None and stored.base_url == "https://other.example/v1"


async def test_a_provider_says_whether_it_continues_an_assistant_prefill(admin: Admin) -> None:
    body = {"name": "prefill-mock", "type": "mock", "capabilities": ["text"]}
    async with admin.as_admin() as client:
        made = await client.post(
            f"{API}/providers", json={**body, "settings": {"assistant_prefill": True}}
        )
        wrong = await client.post(
            f"{API}/providers",
            json={**body, "name": "prefill-wrong", "settings": {"assistant_prefill": "yes"}},
        )
    assert made.status_code == 201, made.text
    assert made.json()["settings"]["assistant_prefill"] is True
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "settings.assistant_prefill"
