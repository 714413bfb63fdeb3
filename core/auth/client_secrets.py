"""Client secrets: 256 random bits, checked with a keyed fast hash.

A client secret is `secrets.token_urlsafe(32)` (256 bits from the OS), so no guessing attack
needs slowing down: what protects a stolen table is the key. The stored form is
`hmac-sha256$<hex>`, HMAC-SHA256 of the secret keyed from EISO_SECRET_KEY (a derived key, not
the secret key itself), compared with `hmac.compare_digest` — a few microseconds per grant
where argon2id took ~180 ms and 64 MiB. Changing EISO_SECRET_KEY invalidates every client
secret (as it does the sealed keys, core/auth/sealing.py): issue new ones after rotating it.

Secrets stored before this (argon2id hashes, `$argon2id$...`) still verify, through argon2 off
the event loop (`check_client_secret`), and are rewritten in the keyed form on their next
successful use (core/auth/server.py `prepare_client`, web/desk_auth.py). Every check of a
client secret goes through this module.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from eiso.core.auth.passwords import verify_password

PREFIX = "hmac-sha256$"


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(b"eiso-client-secret:" + secret_key.encode()).digest()


def hash_client_secret(secret_key: str, secret: str) -> str:
    return PREFIX + hmac.new(_key(secret_key), secret.encode(), hashlib.sha256).hexdigest()


def is_keyed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def verify_client_secret(secret_key: str, stored: str | None, secret: str) -> bool:
    """Whether `secret` matches the stored form: the keyed one in constant time, or an argon2
    hash of an earlier version (slow: on the event loop, use `check_client_secret`)."""
    if stored is None:
        return False
    if is_keyed(stored):
        return hmac.compare_digest(hash_client_secret(secret_key, secret), stored)
    return verify_password(stored, secret)


async def check_client_secret(
    secret_key: str, stored: str | None, secret: str
) -> tuple[bool, str | None]:
    """`verify_client_secret` for the event loop: whether it matches, and for a matching
    argon2 hash the keyed form to store in its place (None: nothing to rewrite)."""
    if stored is None or is_keyed(stored):
        return verify_client_secret(secret_key, stored, secret), None
    ok = await asyncio.to_thread(verify_password, stored, secret)
    return ok, hash_client_secret(secret_key, secret) if ok else None
