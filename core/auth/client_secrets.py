"""Client secrets: 256 random bits, checked with a keyed fast hash.

A client secret is `secrets.token_urlsafe(32)` (256 bits from the OS), so no guessing attack
needs slowing down: what protects a stolen table is the key. The stored form is
`hmac-sha256$<hex>`, HMAC-SHA256 of the secret keyed from EISO_SECRET_KEY (a derived key, not
the secret key itself), compared with `hmac.compare_digest` — a few microseconds per grant
where argon2id took ~180 ms and 64 MiB. Changing EISO_SECRET_KEY invalidates every client
secret (as it does the sealed keys, core/auth/sealing.py): issue new ones after rotating it.

Secrets stored before this (argon2id hashes, `$argon2id$...`) still verify, through argon2 off
the event loop, and are rewritten in the keyed form on their next successful use
(core/auth/server.py `prepare_client`).
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "hmac-sha256$"


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(b"eiso-client-secret:" + secret_key.encode()).digest()


def hash_client_secret(secret_key: str, secret: str) -> str:
    return PREFIX + hmac.new(_key(secret_key), secret.encode(), hashlib.sha256).hexdigest()


def is_keyed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def verify_client_secret(secret_key: str, stored: str, secret: str) -> bool:
    """The keyed check; False for a stored value of another form (see `is_keyed`)."""
    if not is_keyed(stored):
        return False
    return hmac.compare_digest(hash_client_secret(secret_key, secret), stored)
