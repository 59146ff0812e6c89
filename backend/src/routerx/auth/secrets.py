"""Provider secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key from the environment.

ROUTERX_SECRET_KEY may be a Fernet key or any passphrase; it is stretched with HKDF. Without it,
the key is derived from JWT_SECRET (development only: production refuses the example secret).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from routerx.settings import Settings

MASK = "********"


class SecretDecryptError(ValueError):
    """Raised when a stored secret cannot be decrypted with the configured key."""


def _fernet(settings: Settings) -> Fernet:
    material = (settings.secret_key or settings.jwt_secret).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"routerx-provider-secrets")
    return Fernet(base64.urlsafe_b64encode(key.derive(material)))


def encrypt_secret(plain: str, settings: Settings) -> str:
    return _fernet(settings).encrypt(plain.encode()).decode()


def decrypt_secret(ciphertext: str, settings: Settings) -> str:
    try:
        return _fernet(settings).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretDecryptError("stored provider secret does not decrypt with this key") from None


def mask(secret: str | None) -> str | None:
    """What an API may show of a secret: that one is set, never any of its characters."""
    return MASK if secret else None
