"""Signing keys in the database, with rotation and the public JWKS.

The newest unretired key signs. `rotate()` adds a new key and retires the others; a retired
key stays published (and accepted) for one access-token lifetime plus a margin, so tokens it
signed keep working until they expire. Private JWKs are stored sealed (sealing.py) and never
logged. Each process caches the keys briefly and reloads at once on an unknown `kid`, so a
rotation made by another worker or by `eiso keys rotate` is picked up without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import time
from typing import Any, cast

from joserfc.jwk import KeySet, KeySetSerialization, RSAKey
from sqlalchemy import exists, insert, literal, select, text
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from eiso.core.auth.models import SigningKey
from eiso.core.auth.sealing import seal, unseal
from eiso.core.resources import Resources
from eiso.infra.clock import utcnow
from eiso.tenants.scope import TenantScope

ALGORITHM = "RS256"
CACHE_SECONDS = 60
CLOCK_MARGIN = dt.timedelta(minutes=2)
# An unknown kid reloads the keys at most this often, so forged kids cannot hammer the database.
UNKNOWN_KID_RELOAD_SECONDS = 5
# pg_advisory_xact_lock key of the first key's creation ("eisokeys" in ASCII).
FIRST_KEY_LOCK = 0x6569736F6B657973


def _generate(secret_key: str) -> SigningKey:
    kid = f"{utcnow():%Y%m%d}-{secrets.token_hex(6)}"
    key = RSAKey.generate_key(
        2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"}, private=True
    )
    return SigningKey(
        kid=kid,
        alg=ALGORITHM,
        public_jwk=key.as_dict(private=False),
        private_jwk_encrypted=seal(secret_key, json.dumps(key.as_dict(private=True))),
    )


async def rotate(resources: Resources) -> SigningKey:
    """Create a new signing key and retire the current ones (they stay published)."""
    secret = resources.settings.secret_key.get_secret_value()
    new = await asyncio.to_thread(_generate, secret)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        current = (
            await session.execute(select(SigningKey).where(col(SigningKey.retired_at).is_(None)))
        ).scalars()
        for key in current:
            key.retired_at = utcnow()
        session.add(new)
    return new


async def _has_current_key(resources: Resources) -> bool:
    async with resources.session(TenantScope.nation()) as session:
        current = select(col(SigningKey.kid)).where(col(SigningKey.retired_at).is_(None)).limit(1)
        return (await session.execute(current)).first() is not None


async def ensure_current_key(resources: Resources) -> bool:
    """Create a signing key when none is current, so the JWKS publishes one from the first
    start (a resource server that starts first must find it). Several workers starting at once
    create one key: on PostgreSQL they queue on an advisory lock, and the insert itself is
    conditional (one statement, atomic on SQLite's single writer). True if this call made it."""
    if await _has_current_key(resources):
        return False
    new = await asyncio.to_thread(_generate, resources.settings.secret_key.get_secret_value())
    table = SigningKey.__table__  # type: ignore[attr-defined]
    values = {c: getattr(new, c) for c in ("kid", "alg", "public_jwk", "private_jwk_encrypted")}
    values |= {"created_at": utcnow()}
    columns = list(values)
    literals: list[ColumnElement[Any]] = [literal(v, table.c[c].type) for c, v in values.items()]
    chosen = select(*literals).where(~exists().where(table.c.retired_at.is_(None)))
    async with resources.session(TenantScope.nation()) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": FIRST_KEY_LOCK}
            )
        result = await session.execute(insert(table).from_select(columns, chosen))
    return bool(cast("CursorResult[Any]", result).rowcount)


class KeyStore:
    """The published keys and the current signing key of one process."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self._loaded_at = 0.0
        self._public: KeySet = KeySet([])
        self._signing: RSAKey | None = None
        self._lock = asyncio.Lock()

    def _publish_window(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.resources.settings.access_token_lifetime) + CLOCK_MARGIN

    async def reload(self) -> None:
        async with self._lock:
            cutoff = utcnow() - self._publish_window()
            async with self.resources.session(TenantScope.nation()) as session:
                rows = list(
                    (
                        await session.execute(
                            select(SigningKey)
                            .where(
                                col(SigningKey.retired_at).is_(None)
                                | (col(SigningKey.retired_at) > cutoff)
                            )
                            .order_by(col(SigningKey.created_at).desc())
                        )
                    ).scalars()
                )
            self._public = KeySet([RSAKey.import_key(row.public_jwk) for row in rows])
            current = next((row for row in rows if row.retired_at is None), None)
            self._signing = None
            if current is not None:
                secret = self.resources.settings.secret_key.get_secret_value()
                self._signing = RSAKey.import_key(
                    json.loads(unseal(secret, current.private_jwk_encrypted))
                )
            self._loaded_at = time.monotonic()

    async def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > CACHE_SECONDS:
            await self.reload()

    async def signing_key(self) -> RSAKey:
        """The key that signs new tokens; the first call on an empty database creates one."""
        await self._fresh()
        if self._signing is None:
            await ensure_current_key(self.resources)
            await self.reload()
        assert self._signing is not None
        return self._signing

    async def verification_keys(self, kid: str | None) -> KeySet:
        await self._fresh()
        unknown = kid is not None and not any(key.kid == kid for key in self._public.keys)
        if unknown and time.monotonic() - self._loaded_at > UNKNOWN_KID_RELOAD_SECONDS:
            await self.reload()  # a key rotated in by another process
        return self._public

    async def jwks(self) -> KeySetSerialization:
        await self._fresh()
        return self._public.as_dict(private=False)
