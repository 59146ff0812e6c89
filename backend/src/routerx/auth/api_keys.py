"""API keys: generated with high entropy, stored only as a SHA-256 digest plus a display prefix.

A plain SHA-256 digest suits keys (unlike passwords) because keys are long random strings: there
is nothing to brute-force, and the gateway can look a digest up in a dict without a slow KDF.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "rx_"
DISPLAY_PREFIX_LENGTH = 10
MAX_KEY_LENGTH = 256


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
