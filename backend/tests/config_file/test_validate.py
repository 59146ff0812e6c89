"""`validate`: the schema and cross-references, each error with its file, line and path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routerx.config_file.loader import ConfigFileError, load_file, load_text
from routerx.config_file.schema import json_schema
from tests.config_file.files import complete, write

REPO = Path(__file__).resolve().parents[3]


def problems(text: str, name: str = "routerx.yaml") -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigFileError) as caught:
        load_text(text, name)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_complete_example_is_valid(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path, complete()))
    assert [p.name for p in loaded.document.providers] == ["primary", "backup"]
    assert loaded.document.rules[1].tenant == "acme"
    assert loaded.label == "routerx.yaml" and len(loaded.digest) == 64


def test_a_wrong_type_points_at_its_line() -> None:
    text = complete().replace("rpm_limit: 600", "rpm_limit: many")
    [(line, path, message)] = problems(text)
    assert (line, path) == (line_of(text, "rpm_limit: many"), "tenants[0].rpm_limit")
    assert message == "Expected `int | null`, got `str`"


def test_an_unknown_field_points_at_its_line() -> None:
    text = complete().replace("    capabilities: [text]\n", "    capabilites: [text]\n")
    [(line, path, message)] = problems(text)
    assert (line, path) == (line_of(text, "capabilites"), "providers[1].capabilites")
    assert "unknown field" in message


def test_a_value_out_of_range_points_at_its_line() -> None:
    text = complete().replace("connect_s: 1,", "connect_s: -1,")
    [(line, path, _)] = problems(text)
    assert line == line_of(text, "connect_s: -1")
    assert path == "providers[0].settings.timeouts.connect_s"


def test_a_secret_value_is_refused() -> None:
    text = complete().replace(
        "    secret_env: PRIMARY_API_KEY\n", "    secret: sk-live-not-in-files\n"
    )
    [(line, path, message)] = problems(text)
    assert (line, path) == (line_of(text, "secret: sk-live"), "providers[0].secret")
    assert "secret_env" in message and "sk-live" not in message


def test_a_key_value_is_refused() -> None:
    text = complete().replace("      - name: laptop\n", "      - name: laptop\n        key: rx_a\n")
    [(line, path, message)] = problems(text)
    assert (line, path) == (line_of(text, "key: rx_a"), "tenants[0].keys[1].key")
    assert "digest" in message


def test_a_target_naming_no_provider_points_at_it() -> None:
    text = complete().replace("{provider: backup, tier: 1}", "{provider: bakup, tier: 1}")
    [(line, path, message)] = problems(text)
    assert (line, path) == (line_of(text, "bakup"), "rules[0].targets[1].provider")
    assert "no provider 'bakup'" in message


def test_a_target_without_the_rules_capability_is_refused() -> None:
    text = complete().replace(
        "      - {provider: primary, model: up-vision}", "      - {provider: backup}"
    )
    [(line, path, message)] = problems(text)
    assert path == "rules[1].targets[0].provider" and line == line_of(text, "{provider: backup}")
    assert "lacks the vision capability" in message


def test_an_unknown_tenant_and_duplicate_names_are_all_listed() -> None:
    text = (
        complete()
        .replace("tenant: acme", "tenant: acne")
        .replace("  - name: acme-vision", "  - name: chat")
    )
    found = problems(text)
    assert [(path, message) for _, path, message in found] == [
        ("rules[1].name", "a second rule named 'chat'"),
        ("rules[1].tenant", "no tenant 'acne' in this file"),
    ]
    assert found[1][0] == line_of(text, "tenant: acne")


def test_the_admin_apis_provider_checks_apply() -> None:
    text = complete().replace("    base_url: http://127.0.0.1:9/v1\n", "")
    [(line, path, message)] = problems(text)
    assert path == "providers[0].base_url" and "needs a base_url" in message
    assert line == line_of(text, "- name: primary")


def test_a_key_twice_and_a_digest_twice_are_refused() -> None:
    text = complete().replace("      - name: laptop\n", "      - name: ci\n")
    assert [p for _, p, _ in problems(text)] == ["tenants[0].keys[1].name"]


def test_a_yaml_key_twice_is_refused_at_its_line() -> None:
    text = complete().replace("    rpm_limit: 600\n", "    rpm_limit: 600\n    rpm_limit: 700\n")
    [(line, path, message)] = problems(text)
    assert (line, path, message) == (
        line_of(text, "rpm_limit: 700"),
        "tenants[0].rpm_limit",
        "this key appears twice",
    )


def test_broken_yaml_names_its_line() -> None:
    text = complete().replace("    rpm_limit: 600\n", "    rpm_limit: [600\n")
    [(line, path, message)] = problems(text)
    assert path == "" and message.startswith("not valid YAML") and line is not None


def test_json_files_have_lines_too(tmp_path: Path) -> None:
    document = {
        "providers": [{"name": "m", "type": "mock"}],
        "rules": [{"name": "r", "model_pattern": "x", "targets": [{"provider": "nope"}]}],
    }
    path = write(tmp_path, json.dumps(document, indent=2), "routerx.json")
    with pytest.raises(ConfigFileError) as caught:
        load_file(path)
    rendered = str(caught.value)
    assert rendered.startswith(f"{path}:") and "rules[0].targets[0].provider" in rendered
    [problem] = caught.value.problems
    assert problem.line == 1 + json.dumps(document, indent=2).splitlines().index(
        '          "provider": "nope"'
    )


def test_an_error_renders_as_file_line_path() -> None:
    text = complete().replace("rpm_limit: 600", "rpm_limit: 0")
    with pytest.raises(ConfigFileError) as caught:
        load_text(text, "deploy/routerx.yaml")
    assert str(caught.value).startswith(
        f"deploy/routerx.yaml:{line_of(text, 'rpm_limit: 0')}: tenants[0].rpm_limit: "
    )


def test_an_empty_file_is_an_empty_configuration() -> None:
    loaded = load_text("", "empty.yaml")
    assert loaded.document.providers == [] and loaded.document.tenants == []


def test_the_shipped_schema_is_the_generated_one() -> None:
    shipped = json.loads((REPO / "deploy" / "routerx.schema.json").read_text())
    assert shipped == json_schema()
    assert "secret" not in shipped["$defs"]["ProviderSpec"]["properties"]
    assert shipped["$defs"]["ProviderSpec"]["additionalProperties"] is False


def test_the_deploy_example_is_valid() -> None:
    loaded = load_file(str(REPO / "deploy" / "routerx.yaml"))
    assert loaded.document.providers and loaded.document.rules and loaded.document.tenants


def test_unreadable_files_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read the file"):
        load_file(str(tmp_path / "missing.yaml"))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00providers")
    with pytest.raises(ConfigFileError, match="not UTF-8 text"):
        load_file(str(binary))


def test_a_list_at_the_top_is_refused_at_line_one() -> None:
    [(line, path, message)] = problems("- name: a\n")
    assert (line, path, message) == (1, "", "Expected `object`, got `array`")


def test_a_date_like_api_version_stays_text() -> None:
    text = complete().replace(
        "    secret_env: PRIMARY_API_KEY\n", "    secret_env: PRIMARY_API_KEY\n    settings_x: 1\n"
    )
    assert problems(text)[0][1] == "providers[0].settings_x"
    loaded = load_text(
        "providers:\n  - name: a\n    type: azure\n    base_url: https://a.example.com\n"
        "    settings: {api_version: 2024-10-21}\n",
        "routerx.yaml",
    )
    assert loaded.document.providers[0].settings.api_version == "2024-10-21"
