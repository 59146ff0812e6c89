"""diff / apply / export against PostgreSQL and SQLite: one transaction, one audit entry, one
version bump; the export round-trips with an empty diff and holds no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from routerx.auth.api_keys import digest_key
from routerx.auth.secrets import encrypt_secret
from routerx.config_file.apply import apply_file
from routerx.config_file.export import export_document, render_yaml
from routerx.config_file.loader import ConfigFileError, LoadedFile, load_file, load_text
from routerx.config_file.plan import make_plan
from routerx.config_file.state import read_current
from routerx.settings import Settings
from routerx.storage.config_version import current_config_version
from routerx.storage.models import ApiKey, AuditEntry, Provider, RoutingRule, Tenant
from tests.config_file.files import CI_DIGEST, complete, write

pytestmark = pytest.mark.usefixtures("database")


async def plan_of(loaded: LoadedFile, prune: bool = False) -> list[str]:
    return [c.render() for c in make_plan(loaded, await read_current(), prune).changes]


async def counts() -> tuple[int, ...]:
    return (
        await Provider.all().count(),
        await RoutingRule.all().count(),
        await Tenant.all().count(),
        await ApiKey.all().count(),
        await AuditEntry.all().count(),
        await current_config_version(),
    )


async def test_apply_creates_everything_with_one_audit_entry_and_one_bump(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path, complete()))
    assert await plan_of(loaded) == [
        "+ tenant acme",
        "+ provider primary",
        "+ provider backup",
        "+ rule chat",
        "+ rule acme-vision",
        "+ api_key acme/ci",
        "+ api_key acme/laptop",
    ]
    before = await current_config_version()
    result = await apply_file(loaded, actor="tester")
    assert result.config_version == before + 1 == await current_config_version()
    [entry] = await AuditEntry.all()
    assert (entry.actor, entry.action, entry.resource_type) == ("tester", "apply", "config_file")
    assert entry.resource_id == loaded.digest
    assert entry.after is not None
    assert entry.after["file"] == "routerx.yaml"
    assert entry.after["file_digest"] == "sha256:" + loaded.digest
    assert "+ rule chat" in entry.after["changes"]
    acme = await Tenant.get(name="acme")
    assert (acme.rpm_limit, acme.allowed_models, acme.managed_by) == (
        600,
        ["team-*"],
        "routerx.yaml",
    )
    rule = await RoutingRule.get(name="acme-vision")
    assert rule.tenant_id == acme.id and rule.capability == "vision"
    primary = await Provider.get(name="primary")
    assert primary.secret_env == "PRIMARY_API_KEY" and primary.secret_ciphertext is None
    assert primary.settings["breaker"] == {
        "consecutive_failures": 3,
        "open_s": 30,
        "max_open_s": 60,
    }
    assert (await ApiKey.get(name="ci")).digest == CI_DIGEST
    assert await plan_of(loaded) == []


async def test_generated_keys_are_returned_once_and_only_their_digest_is_kept(
    tmp_path: Path,
) -> None:
    result = await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    [generated] = result.generated
    assert (generated.tenant, generated.name) == ("acme", "laptop")
    laptop = await ApiKey.get(name="laptop")
    assert laptop.digest == digest_key(generated.key) and laptop.tpm_limit == 100000
    assert laptop.prefix == generated.key[:10]
    assert generated.key not in str((await AuditEntry.get()).after)
    again = await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    assert again.generated == [] and again.config_version is None


async def test_a_changed_file_updates_only_what_changed(tmp_path: Path) -> None:
    await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    changed = (
        complete()
        .replace("rpm_limit: 600", "rpm_limit: 900")
        .replace("{provider: backup, tier: 1}", "{provider: backup, tier: 1, weight: 2}")
    )
    loaded = load_file(write(tmp_path, changed))
    assert await plan_of(loaded) == ["~ tenant acme (rpm_limit)", "~ rule chat (targets)"]
    version = await current_config_version()
    await apply_file(loaded, actor="tester")
    assert await current_config_version() == version + 1
    assert (await Tenant.get(name="acme")).rpm_limit == 900
    assert (await RoutingRule.get(name="chat")).targets[1]["weight"] == 2


async def test_apply_is_atomic_a_failing_item_changes_nothing(tmp_path: Path) -> None:
    other = await Tenant.create(name="other")
    await ApiKey.create(tenant=other, name="taken", prefix="rx_taken", digest=CI_DIGEST)
    before = await counts()
    loaded = load_file(write(tmp_path, complete()))  # its key `ci` has the taken digest
    with pytest.raises(ConfigFileError) as caught:
        await apply_file(loaded, actor="tester")
    [problem] = caught.value.problems
    assert problem.path == "tenants[0].keys[0].digest" and "another API key" in problem.message
    assert problem.line == complete().splitlines().index(f"        digest: {CI_DIGEST}") + 1
    assert await counts() == before
    assert not await Provider.exists(name="primary")


async def test_deleting_a_provider_an_unlisted_rule_needs_rolls_back(tmp_path: Path) -> None:
    await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    await RoutingRule.create(
        name="hand-made",
        model_pattern="x",
        targets=[{"provider": "backup", "weight": 1, "tier": 0}],
    )
    without_backup = (
        complete()
        .replace("      - {provider: backup, tier: 1}\n", "")
        .replace("  - name: backup\n    type: mock\n    capabilities: [text]\n", "")
    )
    loaded = load_file(write(tmp_path, without_backup))
    assert "- provider backup" in await plan_of(loaded)
    before = await counts()
    with pytest.raises(ConfigFileError, match="rule 'hand-made' targets provider 'backup'"):
        await apply_file(loaded, actor="tester")
    assert await counts() == before
    assert len((await RoutingRule.get(name="chat")).targets) == 2


async def test_what_the_file_drops_is_deleted_and_prune_deletes_the_rest(tmp_path: Path) -> None:
    await Provider.create(name="by-hand", type="mock")
    await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    smaller = complete().split("  - name: acme-vision")[0] + complete().split("tenants:")[1].join(
        ["tenants:", ""]
    )
    smaller = complete().replace(
        "  - name: acme-vision\n    model_pattern: team-vision\n    capability: vision\n"
        "    tenant: acme\n    targets:\n      - {provider: primary, model: up-vision}\n",
        "",
    )
    loaded = load_file(write(tmp_path, smaller))
    assert await plan_of(loaded) == ["- rule acme-vision"]
    assert await plan_of(loaded, prune=True) == ["- rule acme-vision", "- provider by-hand"]
    await apply_file(loaded, actor="tester")
    assert not await RoutingRule.exists(name="acme-vision")
    assert await Provider.exists(name="by-hand")
    await apply_file(loaded, actor="tester", prune=True)
    assert not await Provider.exists(name="by-hand")


async def test_removing_a_tenant_takes_its_keys_and_rules(tmp_path: Path) -> None:
    await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    no_tenants = complete().split("  - name: acme-vision")[0] + "tenants: []\n"
    loaded = load_file(write(tmp_path, no_tenants))
    assert await plan_of(loaded) == [
        "- rule acme-vision",
        "- api_key acme/ci",
        "- api_key acme/laptop",
        "- tenant acme",
    ]
    await apply_file(loaded, actor="tester")
    assert await Tenant.all().count() == 0 and await ApiKey.all().count() == 0


async def test_export_round_trips_with_an_empty_diff_and_no_secret(tmp_path: Path) -> None:
    settings = Settings(secret_key="k" * 44)
    tenant = await Tenant.create(name="hand", rpm_limit=5, allowed_models=["a-*"])
    await ApiKey.create(tenant=tenant, name="k1", prefix="rx_k1", digest=digest_key("rx_k1-x"))
    await ApiKey.create(tenant=tenant, name="", prefix="rx_anon", digest=digest_key("rx_anon"))
    await Provider.create(
        name="vault",
        type="openai",
        capabilities=["text", "embeddings"],
        secret_ciphertext=encrypt_secret("sk-very-secret-value", settings),
        settings={"timeouts": {"total_s": 9}},
    )
    await Provider.create(
        name="envy", type="anthropic", capabilities=["text"], secret_env="ANTHROPIC_API_KEY"
    )
    await Provider.create(name="odd", type="mock", capabilities=[])
    await RoutingRule.create(
        name="hand-rule",
        model_pattern="a-*",
        tenant=tenant,
        targets=[
            {"provider": "vault", "model": "gpt", "weight": 2, "tier": 0},
            {"provider": "envy", "model": None, "weight": 1, "tier": 1},
        ],
        hedge_delay_ms=300,
    )
    exported = await export_document()
    text = render_yaml(exported.document)
    assert "sk-very-secret-value" not in text and "digest" not in text
    assert "ANTHROPIC_API_KEY" in text
    assert any("vault" in note and "encrypted" in note for note in exported.notes)
    assert any("no name" in note for note in exported.notes)
    assert any(note.startswith("provider odd is left out") for note in exported.notes)
    loaded = load_text(text, str(tmp_path / "exported.yaml"))
    assert await plan_of(loaded) == []
    await Provider.filter(name="odd").delete()
    await apply_file(loaded, actor="tester")
    assert await plan_of(loaded) == []
    vault = await Provider.get(name="vault")
    assert vault.secret_ciphertext is not None and vault.managed_by == "exported.yaml"
    assert await ApiKey.all().count() == 2  # the unnamed key stays without --prune
    assert render_yaml((await export_document()).document) == text


async def test_a_revoked_key_cannot_come_back(tmp_path: Path) -> None:
    await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    revoked = complete().replace(
        "      - name: laptop\n", "      - name: laptop\n        status: revoked\n"
    )
    await apply_file(load_file(write(tmp_path, revoked)), actor="tester")
    laptop = await ApiKey.get(name="laptop")
    assert laptop.status == "revoked" and laptop.revoked_at is not None
    with pytest.raises(ConfigFileError, match="revoked, which is final") as caught:
        await apply_file(load_file(write(tmp_path, complete())), actor="tester")
    assert caught.value.problems[0].path == "tenants[0].keys[1].status"


async def test_secret_env_in_the_file_replaces_a_stored_secret(tmp_path: Path) -> None:
    await Provider.create(
        name="primary",
        type="openai_compatible",
        base_url="http://127.0.0.1:9/v1",
        capabilities=["text", "vision"],
        secret_ciphertext=encrypt_secret("sk-old", Settings(secret_key="k" * 44)),
    )
    loaded = load_file(write(tmp_path, complete()))
    assert "~ provider primary (settings, secret_env)" in await plan_of(loaded)
    await apply_file(loaded, actor="tester")
    primary = await Provider.get(name="primary")
    assert primary.secret_ciphertext is None and primary.secret_env == "PRIMARY_API_KEY"
