"""Prometheus config and rules, Grafana provisioning and the RouterX dashboard.

Every PromQL expression may name only series the gateway exports (from routerx.telemetry.metrics:
counters as `_total`, histograms as `_bucket`/`_sum`/`_count`), with labels those metrics carry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import promql
from tests.deploy.conftest import (
    DEPLOY,
    ComposeModel,
    exported_metrics,
    load_yaml,
    series_names,
)

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "routerx.json"


def rules() -> list[dict[str, Any]]:
    return [
        rule for group in load_yaml(PROMETHEUS / "rules.yml")["groups"] for rule in group["rules"]
    ]


def recorded_series() -> dict[str, frozenset[str]]:
    # A recording rule's labels are whatever its expression keeps; accept any label on it.
    return {rule["record"]: frozenset({"*"}) for rule in rules() if "record" in rule}


def dashboard() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return result


def dashboard_exprs() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def assert_only_known_series(where: str, expr: str, known: dict[str, frozenset[str]]) -> set[str]:
    try:
        selectors = promql.selectors(promql.expand_grafana(expr))
    except ValueError as exc:
        pytest.fail(f"{where}: PromQL does not parse ({exc}): {expr}")
    names = set()
    for selector in selectors:
        assert selector.metric is not None, f"{where}: select metrics by name: {expr}"
        assert selector.metric in known, f"{where}: {selector.metric} is not exported: {expr}"
        allowed = known[selector.metric]
        if "*" not in allowed:
            unknown = selector.labels - allowed
            assert not unknown, f"{where}: {selector.metric} has no label {unknown}"
        names.add(selector.metric)
    assert names, f"{where}: no metric in {expr}"
    return names


# --- Prometheus ---------------------------------------------------------------------------------


def test_prometheus_scrapes_the_gateway_every_5s() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    gateway = jobs["routerx-gateway"]
    assert gateway["scrape_interval"] == "5s"
    assert gateway.get("metrics_path", "/metrics") == "/metrics"
    assert gateway["static_configs"] == [{"targets": ["gateway:8080"]}]
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file(), f"{rule_file} is not beside prometheus.yml"


def test_rules_reference_only_exported_series(known_series: dict[str, frozenset[str]]) -> None:
    known = {**known_series, **recorded_series()}
    for rule in rules():
        assert_only_known_series(rule.get("alert") or rule["record"], rule["expr"], known)


def test_alerts_carry_severity_and_summary() -> None:
    alerts = [rule for rule in rules() if "alert" in rule]
    assert alerts
    for alert in alerts:
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]


def test_promtool_accepts_config_rules_and_rule_tests() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH (Debian package `prometheus`)")
    for args in (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "rules.yml"],
        ["test", "rules", "rules.test.yml"],
    ):
        result = subprocess.run(
            [promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


# --- Grafana provisioning ------------------------------------------------------------------------


def test_prometheus_datasource_has_the_uid_the_dashboard_uses() -> None:
    provisioned = load_yaml(GRAFANA / "provisioning" / "datasources" / "datasources.yml")
    sources = {source["uid"]: source for source in provisioned["datasources"]}
    prometheus = sources["prometheus"]
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == "http://prometheus:9090"
    assert prometheus["isDefault"] is True


def _mount_target(compose: ComposeModel, service: str, source: Path) -> str:
    for volume in compose.services[service]["volumes"]:
        if isinstance(volume, dict):
            mounted, target = volume["source"], volume["target"]
        else:
            mounted, target = volume.split(":")[:2]
        if (DEPLOY / mounted).resolve() == source.resolve():
            return str(target)
    raise AssertionError(f"{service} does not mount {source}")


def test_grafana_provisions_the_dashboard_directory(compose: ComposeModel) -> None:
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "routerx.yml")["providers"]
    paths = {provider["options"]["path"] for provider in providers if provider["type"] == "file"}
    mounted = _mount_target(compose, "grafana", DASHBOARD.parent)
    assert paths == {mounted}
    assert (
        _mount_target(compose, "grafana", GRAFANA / "provisioning") == "/etc/grafana/provisioning"
    )
    environment = compose.environment("grafana")
    assert environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == f"{mounted}/{DASHBOARD.name}"
    assert environment["GF_SECURITY_ADMIN_USER"] == "admin"
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == "admin"


# --- the dashboard -------------------------------------------------------------------------------


def test_dashboard_is_grafana_shaped() -> None:
    board = dashboard()
    assert board["uid"] == "routerx"
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        assert panel["targets"], f"{panel['title']} has no query"
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "prometheus", panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_dashboard_queries_reference_only_exported_series(
    known_series: dict[str, frozenset[str]],
) -> None:
    for title, expr in dashboard_exprs():
        assert_only_known_series(title, expr, known_series)
    for variable in dashboard()["templating"]["list"]:
        assert variable["datasource"]["uid"] == "prometheus"
        assert "routerx_requests_total" in variable["definition"]


def test_dashboard_shows_every_exported_metric(known_series: dict[str, frozenset[str]]) -> None:
    shown: set[str] = set()
    for title, expr in dashboard_exprs():
        shown |= assert_only_known_series(title, expr, known_series)
    missing = [metric._name for metric in exported_metrics() if not series_names(metric) & shown]
    assert not missing, f"add a dashboard panel for: {missing}"


def test_dashboard_covers_the_issue_checklist() -> None:
    queries = "\n".join(expr for _title, expr in dashboard_exprs())
    for needle in (
        "sum by (provider, status) (rate(routerx_requests_total",
        'status=~"5.."',
        "histogram_quantile(0.5, sum by (le) (rate(routerx_request_duration_seconds_bucket",
        "histogram_quantile(0.95, sum by (le) (rate(routerx_request_duration_seconds_bucket",
        "histogram_quantile(0.99, sum by (le) (rate(routerx_request_duration_seconds_bucket",
        "routerx_time_to_first_token_seconds_bucket",
        "routerx_gateway_overhead_seconds_bucket",
        "routerx_fallbacks_total",
        "routerx_breaker_state",
        "routerx_breaker_transitions_total",
        "sum by (provider, type) (rate(routerx_tokens_total",
        "routerx_request_log_rows_written_total",
        "routerx_request_log_rows_dropped_total",
        "routerx_request_log_rows_pending",
        "routerx_rate_limited_total",
    ):
        assert needle in queries, f"the dashboard lacks {needle}"


def test_promql_parser_is_in_use_or_the_scan_is_said() -> None:
    if promql.PARSER is None:
        pytest.skip("promql-parser not installed: expressions were scanned, not parsed")
    with pytest.raises(ValueError):
        promql.selectors("sum(rate(routerx_requests_total[5m])")
