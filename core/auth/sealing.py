"""Encryption at rest for the secrets eiso must read back (signing keys' private JWKs, IdP
client secrets): Fernet (AES-128-CBC + HMAC) keyed from EISO_SECRET_KEY. Changing
EISO_SECRET_KEY makes them unreadable: rotate the signing key after changing it."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"eiso-sealing:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret_key: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


def unseal(secret_key: str, token: str) -> str:
    return _fernet(secret_key).decrypt(token.encode()).decode()
