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

Pushed to every worker (`RevocationWatch`, started with the app): revoking also publishes the
`jti` on a channel. While a worker's subscription is up and recently heard (it pings Redis
every `PING_SECONDS` and counts as current only while a reply came within `FRESH_SECONDS`,
less than the revoking side's command timeout), it knows every revocation without a round
trip and the JWT authenticator asks it alone (core/auth/jwt_authenticator.py). On each
(re)subscription it first reads every unexpired revocation from the database (and copies them
to Redis), so a revocation that only reached the database during an outage counts as soon as
the subscription is back. While it is not current, requests use `is_revoked` above.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import weakref

from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import delete
from sqlmodel import col, select

from eiso.core.auth.models import RevokedToken
from eiso.core.resources import Resources
from eiso.infra.cancellation import raise_if_cancelled
from eiso.infra.clock import utcnow
from eiso.infra.redis_client import Backoff, subscription
from eiso.tenants.scope import TenantScope

log = logging.getLogger("eiso.auth")

SYNC_SECONDS = 60
# Redis keeps a denied jti a little past the token's expiry (clock skew between workers).
REDIS_MARGIN = 60
# The subscription's heartbeat. FRESH_SECONDS stays below the Redis command timeout
# (infra/redis_client.py, 1 s): a revocation whose publish timed out because Redis hung
# returns after that timeout, by when every worker has stopped trusting its subscription.
PING_SECONDS = 0.25
FRESH_SECONDS = 0.9
# A subscription whose pings go unanswered this many times in a row (a hung Redis) is dropped.
SILENT_PINGS = 20
# Delays between subscription attempts while Redis is away.
FIRST_RETRY = 0.25
MAX_RETRY = 30.0


def denied_jti_key(resources: Resources, jti: str) -> str:
    return resources.key("auth", "revoked-jti", jti)


def _synced_key(resources: Resources) -> str:
    return resources.key("auth", "revocations-synced")


def revocations_channel(resources: Resources) -> str:
    return resources.key("auth", "revoked")


# The watches of this process, by channel: a revocation made here reaches them at once.
_watches: dict[str, weakref.WeakSet[RevocationWatch]] = {}


async def revoke(resources: Resources, jti: str, seconds: int) -> None:
    """Refuse the access token `jti` for the `seconds` it has left."""
    now, seconds = utcnow(), max(seconds, 1)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await session.execute(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))
        await session.merge(RevokedToken(jti=jti, expires_at=now + dt.timedelta(seconds=seconds)))
    until = time.time() + seconds
    channel = revocations_channel(resources)
    for watch in list(_watches.get(channel, ())):
        watch.deny(jti, until)
    try:
        # Stored before it is announced, in two round trips: redis-py refuses PUBLISH in a
        # cluster pipeline, which would not keep the order either.
        await resources.redis.set(denied_jti_key(resources, jti), "1", ex=seconds + REDIS_MARGIN)
        await resources.redis.publish(channel, f"{jti} {until:.0f}")
    except (RedisError, OSError) as error:
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


async def _copy_to_redis(resources: Resources) -> dict[str, float]:
    """Every unexpired revocation into Redis, then the marker; the jtis copied, with the
    epoch second their token expires."""
    rows, now = await _unexpired(resources), utcnow()
    async with resources.redis.pipeline(transaction=False) as pipe:
        for row in rows:
            left = int((_aware(row.expires_at) - now).total_seconds())
            pipe.set(denied_jti_key(resources, row.jti), "1", ex=max(left, 1) + REDIS_MARGIN)
        pipe.set(_synced_key(resources), "1", ex=SYNC_SECONDS)
        await pipe.execute()
    return {row.jti: _aware(row.expires_at).timestamp() for row in rows}


async def _revoked_in_database(resources: Resources, jti: str) -> bool:
    async with resources.session(TenantScope.nation()) as session:
        row = await session.get(RevokedToken, jti)
        return row is not None and _aware(row.expires_at) > utcnow()


class RevocationWatch:
    """One process's knowledge of every unexpired revocation, kept by the subscription.

    `listen` runs for the app's lifetime (started and cancelled by its lifespan, core/app.py).
    It makes a connect only when it (re)subscribes, never behind redis-py's back: a dropped
    connection ends the subscription, and the next one waits `backoff` (0.25 s doubling to
    30 s while Redis stays away, through the breaker of infra/redis_client.py as well)."""

    def __init__(self) -> None:
        self._denied: dict[str, float] = {}  # jti -> when its token expires (epoch seconds)
        self.listening = False
        self._heard = float("-inf")  # monotonic time of the last message or pong
        self.backoff = Backoff(FIRST_RETRY, MAX_RETRY)

    def current(self) -> bool:
        """Whether `denied` may answer alone: subscribed, and Redis answered lately."""
        return self.listening and time.monotonic() - self._heard < FRESH_SECONDS

    def denied(self, jti: str) -> bool:
        return jti in self._denied

    def deny(self, jti: str, until: float) -> None:
        self._denied[jti] = until

    def _forget_expired(self) -> None:
        now = time.time()
        for jti in [jti for jti, until in self._denied.items() if until < now]:
            del self._denied[jti]

    async def listen(self, resources: Resources) -> None:
        """Follow the revocations channel until cancelled; each subscription starts from the
        database's list. Never raises but for its cancellation: a failure (Redis, the
        database) is logged once per outage and retried after the backoff's delay."""
        channel, warned = revocations_channel(resources), False
        local = _watches.setdefault(channel, weakref.WeakSet())
        local.add(self)
        try:
            while True:
                raise_if_cancelled()
                try:
                    async with subscription(resources.redis, channel) as pubsub:
                        await self._follow(resources, pubsub)
                except Exception:
                    raise_if_cancelled()
                    if self.listening or not warned:  # once per outage
                        log.warning("revocations channel lost, checking per request", exc_info=True)
                    warned = True
                finally:
                    self.listening = False
                await asyncio.sleep(self.backoff.next())
        finally:
            local.discard(self)

    async def _follow(self, resources: Resources, pubsub: PubSub) -> None:
        connection = pubsub.connection
        last_ping, unanswered = time.monotonic(), 0
        while True:
            raise_if_cancelled()
            # redis-py would reconnect in `get_message` or `ping` on its own: a lost
            # connection ends the subscription instead, so every reconnect pays the backoff.
            if connection is None or not connection.is_connected:
                raise RedisConnectionError("the revocations subscription was disconnected")
            message = await pubsub.get_message(timeout=PING_SECONDS)
            now = time.monotonic()
            if message is not None:
                self._heard, unanswered = now, 0
                if message["type"] == "subscribe":
                    # Subscribed: no revocation is missed from now on; those made before
                    # (perhaps while Redis was away) come from the database.
                    self._denied.update(await _copy_to_redis(resources))
                    self.listening = True
                    self.backoff.reset()
                elif message["type"] == "message":
                    self._on_message(message["data"])
            if now - last_ping >= PING_SECONDS:
                # Pings unanswered, not time: a stalled event loop sends none either.
                if unanswered >= SILENT_PINGS:
                    raise RedisTimeoutError("Redis stopped answering on the revocations channel")
                await pubsub.ping()
                last_ping, unanswered = now, unanswered + 1
                self._forget_expired()

    def _on_message(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        jti, _, until = text.partition(" ")
        try:
            self.deny(jti, float(until))
        except ValueError:
            self.deny(jti, time.time() + 86400)  # unreadable expiry: keep it a day


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
