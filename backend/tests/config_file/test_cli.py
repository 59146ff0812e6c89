"""`routerx config ...` as a user runs it: exit codes, messages, keys shown once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from routerx.auth.api_keys import digest_key
from routerx.config_file.schema import json_schema
from routerx.storage.models import ApiKey
from tests.cli.test_commands import routerx
from tests.config_file.files import complete, write
from tests.config_file.litellm_configs import AZURE_AND_FALLBACKS
from tests.config_file.test_litellm import fill
from tests.support.database import connected


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return routerx(f"sqlite://{tmp_path / 'rx.sqlite3'}", "config", *args)


def test_validate_names_file_and_line_and_exits_2(tmp_path: Path) -> None:
    good = write(tmp_path, complete())
    result = run(tmp_path, "validate", good)
    assert result.returncode == 0
    assert "valid (2 providers, 2 rules, 1 tenants)" in result.stdout
    bad = write(
        tmp_path, complete().replace("{provider: backup, tier: 1}", "{provider: x}"), "bad.yaml"
    )
    result = run(tmp_path, "validate", bad)
    line = complete().splitlines().index("      - {provider: backup, tier: 1}") + 1
    assert result.returncode == 2
    assert (
        f"{bad}:{line}: rules[0].targets[1].provider: no provider 'x' in this file" in result.stderr
    )


async def test_diff_apply_export_from_the_command_line(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    assert routerx(database_url, "migrate").returncode == 0
    path = write(tmp_path, complete())
    diff = run(tmp_path, "diff", path)
    assert diff.returncode == 1 and "+ provider primary" in diff.stdout
    applied = run(tmp_path, "apply", path)
    assert applied.returncode == 0, applied.stderr
    assert "configuration version" in applied.stdout
    [shown] = [line for line in applied.stdout.splitlines() if line.startswith("  acme/laptop: ")]
    key = shown.removeprefix("  acme/laptop: ")
    async with connected(database_url):
        assert (await ApiKey.get(name="laptop")).digest == digest_key(key)
    again = run(tmp_path, "apply", path)
    assert again.returncode == 0 and "no changes" in again.stdout and "rx_" not in again.stdout
    assert run(tmp_path, "diff", path).returncode == 0
    exported = tmp_path / "exported.yaml"
    assert run(tmp_path, "export", "-o", str(exported)).returncode == 0
    assert "laptop" in exported.read_text() and key not in exported.read_text()
    assert run(tmp_path, "diff", str(exported)).returncode == 0
    as_json = run(tmp_path, "export", "--json")
    assert json.loads(as_json.stdout)["tenants"][0]["name"] == "acme"


def test_schema_prints_the_generated_schema(tmp_path: Path) -> None:
    result = run(tmp_path, "schema")
    assert result.returncode == 0 and json.loads(result.stdout) == json_schema()


def test_import_litellm_writes_a_file_and_lists_what_it_left(tmp_path: Path) -> None:
    urls = {"azure_eu": "https://eu.example.com", "azure_ca": "https://ca.example.com"}
    source = write(
        tmp_path,
        fill(AZURE_AND_FALLBACKS, {**urls, "compatible": "http://vllm:8000"}),
        "config.yaml",
    )
    output = tmp_path / "routerx.yaml"
    result = run(tmp_path, "import-litellm", source, "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "not mapped: router_settings.num_retries" in result.stderr
    assert yaml.safe_load(output.read_text())["rules"][0]["model_pattern"] == "gpt-4o"
    assert run(tmp_path, "validate", str(output)).returncode == 0
