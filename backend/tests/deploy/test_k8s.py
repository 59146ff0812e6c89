"""deploy/k8s: well-formed manifests, restricted pods, probes and autoscaling for the gateway."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from tests.deploy.conftest import (
    K8S,
    SRC,
    image_is_pinned,
    iter_files,
    load_yaml,
    load_yaml_all,
    module_constant,
)
from tests.deploy.test_compose import SETTINGS_VARIABLES

# Oldest and newest Kubernetes minor the manifests are checked against (offline schemas).
K8S_VERSIONS = ("1.29.0", "1.37.0")
HYPERCORN_GRACEFUL_S = 20  # routerx.cli: config.graceful_timeout
SHUTDOWN_FLUSH_S = module_constant(SRC / "gateway" / "app.py", "SHUTDOWN_FLUSH_S")
NAMESPACED_KINDS = {"ConfigMap", "Secret", "Deployment", "Service", "Job"}
NAMESPACED_KINDS |= {"HorizontalPodAutoscaler", "PodDisruptionBudget"}


@cache
def manifests() -> tuple[dict[str, Any], ...]:
    return tuple(
        doc
        for path in iter_files(K8S, ".yaml", ".yml")
        if path.name != "kustomization.yaml"
        for doc in load_yaml_all(path)
    )


def find(kind: str, name: str) -> dict[str, Any]:
    for doc in manifests():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name}")


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in manifests():
        if doc["kind"] in {"Deployment", "Job"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def container(name: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = find("Deployment", name)["spec"]["template"]["spec"][
        "containers"
    ]
    return containers[0]


def test_every_manifest_is_named_and_listed_in_the_kustomization() -> None:
    files = {path.name for path in iter_files(K8S, ".yaml", ".yml")} - {"kustomization.yaml"}
    kustomization = load_yaml(K8S / "kustomization.yaml")
    assert set(kustomization["resources"]) == files
    assert kustomization["namespace"] == "routerx"
    for doc in manifests():
        assert doc.get("apiVersion") and doc.get("kind"), doc
        assert doc["metadata"]["name"], doc
        if doc["kind"] in NAMESPACED_KINDS:
            assert doc["metadata"]["namespace"] == "routerx", doc["metadata"]["name"]
    assert find("Namespace", "routerx")


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_match_the_kubernetes_schema(version: str) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate not installed (dev extra)"
    )
    for doc in manifests():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} on {version}: {exc}")


def test_kustomize_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\nkind: ") + result.stdout.startswith("kind: ") >= len(manifests())


def test_pods_are_restricted_and_bounded() -> None:
    for where, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] > 0, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec.get("automountServiceAccountToken") is False, where
        mounts_by_volume = {volume["name"] for volume in spec.get("volumes", [])}
        for box in spec["containers"]:
            context = box["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert image_is_pinned(box["image"]), f"{where}: {box['image']} is not pinned"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(box["resources"][bound]), f"{where} {bound}"
            for mount in box.get("volumeMounts", []):
                assert mount["name"] in mounts_by_volume, where


def test_gateway_deployment() -> None:
    deployment = find("Deployment", "gateway")
    spec = deployment["spec"]["template"]["spec"]
    gateway = container("gateway")
    assert deployment["spec"]["replicas"] == 2
    assert gateway["command"] == ["routerx", "gateway"]
    assert {"name": "GATEWAY_WORKERS", "value": "2"} in gateway["env"]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"name": "http", "containerPort": 8080} in gateway["ports"]
    # Multiprocess metric files go to a temp dir on a read-only root filesystem.
    tmp = [mount for mount in gateway["volumeMounts"] if mount["mountPath"] == "/tmp"]
    assert tmp, "an emptyDir on /tmp"
    volume = next(v for v in spec["volumes"] if v["name"] == tmp[0]["name"])
    assert "emptyDir" in volume
    pre_stop = gateway["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = int(pre_stop[1]) + HYPERCORN_GRACEFUL_S + SHUTDOWN_FLUSH_S
    assert spec["terminationGracePeriodSeconds"] >= drain, "shutdown is cut short"
    env_from = {next(iter(source.values()))["name"] for source in gateway["envFrom"]}
    assert env_from == {"routerx-config", "routerx-secrets"}


def test_hpa_scales_the_gateway_on_cpu() -> None:
    hpa = find("HorizontalPodAutoscaler", "gateway")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        "gateway",
    )
    find("Deployment", target["name"])
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert hpa["spec"]["minReplicas"] >= 2


def test_selectors_match_their_pods() -> None:
    for doc in manifests():
        kind = doc["kind"]
        if kind == "Service":
            selector = doc["spec"]["selector"]
            deployment = find("Deployment", doc["metadata"]["name"])
            ports = {port["name"] for port in container(doc["metadata"]["name"])["ports"]}
            assert {port["targetPort"] for port in doc["spec"]["ports"]} <= ports
        elif kind == "PodDisruptionBudget":
            selector = doc["spec"]["selector"]["matchLabels"]
            deployment = find("Deployment", "gateway")
        elif kind == "Deployment":
            selector, deployment = doc["spec"]["selector"]["matchLabels"], doc
        else:
            continue
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), doc["metadata"]["name"]


def test_console_reaches_the_admin_service_it_was_built_for() -> None:
    # deploy/console.Dockerfile bakes http://admin:8081 into the build.
    service = find("Service", "admin")
    assert [port["port"] for port in service["spec"]["ports"]] == [8081]


def test_config_and_secret_set_only_variables_routerx_reads() -> None:
    config = find("ConfigMap", "routerx-config")["data"]
    secret = find("Secret", "routerx-secrets")["stringData"]
    assert not set(config) & set(secret)
    assert not (set(config) | set(secret)) - SETTINGS_VARIABLES
    assert {"JWT_SECRET", "ROUTERX_SECRET_KEY", "DATABASE_URL"} <= set(secret)
    assert config["ROUTERX_ENV"] == "production"


def test_secret_values_are_visibly_placeholders() -> None:
    for key, value in find("Secret", "routerx-secrets")["stringData"].items():
        assert value == "" or "REPLACE_ME" in value, f"{key} looks like a real secret"
    assert find("Secret", "routerx-secrets")["stringData"]["JWT_SECRET"] == "", (
        "empty: production refuses to start until it is set"
    )


def test_migrate_job() -> None:
    job = find("Job", "migrate")
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["command"] == ["routerx", "migrate"]
    images = {box["image"] for _where, pod in pod_specs() for box in pod["containers"]}
    backend = {image for image in images if re.search(r"/backend[:@]", image)}
    assert len(backend) == 1, "gateway, admin and migrate run the same backend release"
