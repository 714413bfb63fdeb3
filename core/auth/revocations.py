"""Revoked access tokens: the database keeps each revocation, Redis answers the per-request check.

- Revoking writes the `jti` to `auth_revoked_tokens` (until the token's expiry) and then to
  Redis; a Redis failure there loses nothing.
- The check asks Redis for the `jti` and for a marker saying Redis holds every revocation.
  Without the marker (Redis restarted empty, or the marker expired) the unexpired revocations
  are copied from the database and the marker is set for `SYNC_SECONDS`, so a revocation that
  only reached the database (made while Redis was down) counts on the Redis path within that
  time of Redis being back.
- With Redis unreachable the check reads the database: a revoked token stays refused through
  an outage, for one primary-key lookup per authenticated request.
"""

from __future__ import annotations

import datetime as dt
import logging

from redis.exceptions import RedisError
from sqlalchemy import delete
from sqlmodel import col, select

from eiso.core.auth.models import RevokedToken
from eiso.core.resources import Resources
from eiso.infra.clock import utcnow
from eiso.tenants.scope import TenantScope

log = logging.getLogger("eiso.auth")

SYNC_SECONDS = 60
# Redis keeps a denied jti a little past the token's expiry (clock skew between workers).
REDIS_MARGIN = 60


def denied_jti_key(resources: Resources, jti: str) -> str:
    return resources.key("auth", "revoked-jti", jti)


def _synced_key(resources: Resources) -> str:
    return resources.key("auth", "revocations-synced")


async def revoke(resources: Resources, jti: str, seconds: int) -> None:
    """Refuse the access token `jti` for the `seconds` it has left."""
    now = utcnow()
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await session.execute(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))
        await session.merge(
            RevokedToken(jti=jti, expires_at=now + dt.timedelta(seconds=max(seconds, 1)))
        )
    try:
        await resources.redis.set(
            denied_jti_key(resources, jti), "1", ex=max(seconds, 1) + REDIS_MARGIN
        )
    except RedisError as error:
        log.warning("revocation stored in the database only, Redis unavailable: %s", error)


async def is_revoked(resources: Resources, jti: str) -> bool:
    try:
        async with resources.redis.pipeline(transaction=False) as pipe:
            pipe.exists(denied_jti_key(resources, jti))
            pipe.exists(_synced_key(resources))
            denied, synced = await pipe.execute()
        if denied or synced:
            return bool(denied)
        return jti in await _copy_to_redis(resources)
    except RedisError:
        return await _revoked_in_database(resources, jti)


async def _unexpired(resources: Resources) -> list[RevokedToken]:
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(RevokedToken).where(col(RevokedToken.expires_at) > utcnow())
        )
        return list(rows.scalars())


async def _copy_to_redis(resources: Resources) -> set[str]:
    """Every unexpired revocation into Redis, then the marker; the jtis copied."""
    rows, now = await _unexpired(resources), utcnow()
    async with resources.redis.pipeline(transaction=False) as pipe:
        for row in rows:
            left = int((_aware(row.expires_at) - now).total_seconds())
            pipe.set(denied_jti_key(resources, row.jti), "1", ex=max(left, 1) + REDIS_MARGIN)
        pipe.set(_synced_key(resources), "1", ex=SYNC_SECONDS)
        await pipe.execute()
    return {row.jti for row in rows}


async def _revoked_in_database(resources: Resources, jti: str) -> bool:
    async with resources.session(TenantScope.nation()) as session:
        row = await session.get(RevokedToken, jti)
        return row is not None and _aware(row.expires_at) > utcnow()


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
