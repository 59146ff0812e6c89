"""The deploy examples mount the file: Compose's admin service and a Kubernetes ConfigMap that
embeds deploy/routerx.yaml as it is."""

from __future__ import annotations

from pathlib import Path

import yaml

from routerx.config_file.loader import load_text

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_the_configmap_embeds_the_example_file_and_the_admin_mounts_it() -> None:
    configmap = yaml.safe_load((DEPLOY / "k8s" / "config-file.yaml").read_text())
    embedded = configmap["data"]["routerx.yaml"]
    assert embedded == (DEPLOY / "routerx.yaml").read_text()
    load_text(embedded, "routerx.yaml")
    admin = yaml.safe_load((DEPLOY / "k8s" / "admin-deployment.yaml").read_text())
    pod = admin["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert {"name": "CONFIG_FILE", "value": "/etc/routerx/routerx.yaml"} in container["env"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config-file")
    assert mount == {"name": "config-file", "mountPath": "/etc/routerx", "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "config-file")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]


def test_compose_mounts_the_file_into_the_admin_service() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    admin = compose["services"]["admin"]
    assert "./routerx.yaml:/etc/routerx/routerx.yaml:ro" in admin["volumes"]
    assert admin["environment"]["CONFIG_FILE"] == "${CONFIG_FILE:-}"


def test_the_readme_example_is_a_valid_file() -> None:
    readme = (DEPLOY.parent / "README.md").read_text()
    section = readme.split("## Configuration as code\n", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = load_text(example, "routerx.yaml")
    assert [rule.name for rule in loaded.document.rules] == ["chat", "embeddings"]
    assert [key.name for key in loaded.document.tenants[0].keys] == ["backend", "ci"]
