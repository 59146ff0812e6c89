"""Admin API for cloud providers and presets: presets listed, type-specific settings required."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.admin.admin_harness import Admin

API = "/api/v1"


async def test_presets_are_listed_for_the_console(admin: Admin) -> None:
    async with admin.as_viewer() as client:
        response = await client.get(f"{API}/provider-presets")

    assert response.status_code == 200
    presets = {preset["name"]: preset for preset in response.json()}
    assert presets["groq"]["base_url"] == "https://api.groq.com/openai/v1"
    assert presets["groq"]["type"] == "openai_compatible"
    assert "logprobs" in presets["ollama"]["drop_fields"]


async def test_cloud_providers_need_their_settings(admin: Admin) -> None:
    async with admin.as_admin() as client:
        no_region = await client.post(
            f"{API}/providers", json={"name": "aws-check", "type": "bedrock"}
        )
        bedrock = await client.post(
            f"{API}/providers",
            json={
                "name": "aws-check",
                "type": "bedrock",
                "settings": {
                    "region": "eu-west-1",
                    "credentials_env": {
                        "access_key_id": "ROUTERX_PROVIDER_AWS_ACCESS_KEY_ID",
                        "secret_access_key": "ROUTERX_PROVIDER_AWS_SECRET_ACCESS_KEY",
                    },
                },
                "model_map": {"claude-sonnet": "eu.anthropic.claude-sonnet-4-20250514-v1:0"},
            },
        )
        server_secret_as_key_id = await client.post(
            f"{API}/providers",
            json={
                "name": "aws-leak",
                "type": "bedrock",
                "settings": {
                    "region": "eu-west-1",
                    "credentials_env": {
                        "access_key_id": "JWT_SECRET",
                        "secret_access_key": "ROUTERX_PROVIDER_AWS_SECRET_ACCESS_KEY",
                    },
                },
            },
        )
        no_project = await client.post(
            f"{API}/providers",
            json={"name": "gcp", "type": "vertex", "settings": {"location": "us-central1"}},
        )
        json_on_bedrock = await client.post(
            f"{API}/providers",
            json={
                "name": "aws2",
                "type": "bedrock",
                "capabilities": ["text", "json"],
                "settings": {"region": "us-east-1"},
            },
        )

    assert no_region.status_code == 400
    assert no_region.json()["error"]["param"] == "settings.region"
    assert bedrock.status_code == 201, bedrock.text
    key_id_env = bedrock.json()["settings"]["credentials_env"]["access_key_id"]
    assert key_id_env == "ROUTERX_PROVIDER_AWS_ACCESS_KEY_ID"
    # The access key id is sent upstream with every signed request: naming one of the server's
    # own variables there would publish it.
    assert server_secret_as_key_id.status_code == 400
    refusal = server_secret_as_key_id.json()["error"]
    assert refusal["param"] == "settings.credentials_env.access_key_id"
    assert no_project.status_code == 400
    assert no_project.json()["error"]["param"] == "settings.project"
    assert json_on_bedrock.status_code == 400


README = Path(__file__).resolve().parents[3] / "README.md"


def _readme_bodies() -> list[dict[str, Any]]:
    """The JSON bodies of the README's curl examples for the cloud providers and presets."""
    text = README.read_text()
    start = text.index("### Latency-aware balancing")
    end = text.index("## Admin Console")
    section = text[start:end]
    return [json.loads(body) for body in re.findall(r"-d '(\{.*?\})'", section, re.DOTALL)]


async def test_the_readme_examples_are_accepted(admin: Admin) -> None:
    bodies = _readme_bodies()
    rules = [body for body in bodies if "targets" in body]
    providers = [
        body
        for body in bodies
        if body.get("type") in {"bedrock", "vertex"} or "preset" in body.get("settings", {})
    ]
    assert {p["type"] for p in providers} == {"bedrock", "vertex", "openai_compatible"}
    assert rules and rules[0]["balancing"] == "latency"

    async with admin.as_admin() as client:
        for body in providers:
            response = await client.post(f"{API}/providers", json=body)
            assert response.status_code == 201, response.text
        response = await client.post(f"{API}/rules", json=rules[0])
        assert response.status_code == 201, response.text
        assert response.json()["balancing"] == "latency"
        auto = await client.patch(
            f"{API}/rules/{response.json()['id']}", json={"hedge_delay_ms": "auto"}
        )
        fixed = await client.patch(
            f"{API}/rules/{response.json()['id']}", json={"hedge_delay_ms": 250}
        )

    assert auto.status_code == 200 and auto.json()["hedge_delay_ms"] == "auto"
    assert fixed.json()["hedge_delay_ms"] == 250
