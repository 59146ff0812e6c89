"""Configuration files the tests apply, and helpers to write them."""

from __future__ import annotations

import hashlib
from pathlib import Path

COMPLETE = """\
version: 1
providers:
  - name: primary
    type: openai_compatible
    base_url: http://127.0.0.1:9/v1
    capabilities: [text, vision]
    secret_env: PRIMARY_API_KEY
    settings:
      timeouts: {connect_s: 1, total_s: 5}
      breaker: {consecutive_failures: 3, open_s: 30, max_open_s: 60}
  - name: backup
    type: mock
    capabilities: [text]
rules:
  - name: chat
    model_pattern: team-chat
    targets:
      - {provider: primary, model: up-model}
      - {provider: backup, tier: 1}
  - name: acme-vision
    model_pattern: team-vision
    capability: vision
    tenant: acme
    targets:
      - {provider: primary, model: up-vision}
tenants:
  - name: acme
    rpm_limit: 600
    allowed_models: [team-*]
    keys:
      - name: ci
        digest: {digest}
      - name: laptop
        tpm_limit: 100000
"""
CI_KEY = "rx_ci_key_for_the_config_file_tests_0001"
CI_DIGEST = hashlib.sha256(CI_KEY.encode()).hexdigest()


def complete(digest: str = CI_DIGEST) -> str:
    return COMPLETE.replace("{digest}", digest)


def write(directory: Path, text: str, name: str = "routerx.yaml") -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)
