"""Login throttling and token-endpoint rate limits, in Redis so every worker shares them.

- Login: each failed password for a username counts; after `login_max_failures` within the
  lockout window the account is locked for `login_lockout_seconds` and the login page says so
  (even a correct password is refused while locked). A success clears the count.
- Token endpoint: a fixed one-minute window, at most `token_rate_limit` requests, then 429
  with Retry-After; counted per client id for a client-credentials grant, else per address
  (core/http/oauth_routes.py) and per person (username) once a sign-in's or refresh's grant
  knows who (core/auth/server.py). Never per client for people: the desk's one client serves
  every officer (docs/auth.md, "Throttling").

With Redis unreachable both count in this process's memory instead (per worker, so N workers
allow N times the failures before a lockout; see infra/rate_limit.py for why not fail open).
"""

from __future__ import annotations

import contextlib
import time

from redis.exceptions import RedisError

from eiso.core.resources import Resources
from eiso.infra.rate_limit import count_locally, retry_after

# username -> monotonic time its lockout ends, for lockouts decided while Redis was down.
_local_locks: dict[str, float] = {}


class LoginThrottle:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        settings = resources.settings
        self.max_failures = settings.login_max_failures
        self.lockout = settings.login_lockout_seconds

    def _failures(self, username: str) -> str:
        return self.resources.key("auth", "login-failures", username.lower())

    def _lock(self, username: str) -> str:
        return self.resources.key("auth", "locked", username.lower())

    async def locked_for(self, username: str) -> int:
        """Seconds until the account unlocks; 0 when it is not locked."""
        local = max(int(_local_locks.get(self._lock(username), 0) - time.monotonic()), 0)
        try:
            ttl = await self.resources.redis.ttl(self._lock(username))
        except RedisError:
            return local
        return max(int(ttl), local, 0)

    async def failed(self, username: str) -> int:
        """Record a failure; returns the seconds of lockout it caused (0 if none)."""
        redis = self.resources.redis
        key = self._failures(username)
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.lockout)
                count, _ = await pipe.execute()
        except RedisError:
            return self._failed_locally(key, username)
        if int(count) >= self.max_failures:
            await redis.set(self._lock(username), "1", ex=self.lockout)
            await redis.delete(key)
            return self.lockout
        return 0

    def _failed_locally(self, key: str, username: str) -> int:
        now = time.time()
        counted = count_locally(f"{key}:{int(now // self.lockout)}", now, self.lockout)
        if counted < self.max_failures:
            return 0
        if len(_local_locks) > 10_000:  # keep the ones still running
            for name in [n for n, end in _local_locks.items() if end < time.monotonic()]:
                del _local_locks[name]
        _local_locks[self._lock(username)] = time.monotonic() + self.lockout
        return self.lockout

    async def succeeded(self, username: str) -> None:
        with contextlib.suppress(RedisError):  # else the count expires with its window
            await self.resources.redis.delete(self._failures(username))


async def token_rate_limited(resources: Resources, who: str) -> int:
    """0 when the request may proceed, else the seconds to wait."""
    return await retry_after(
        resources.redis,
        resources.key("auth", "token-rate", who),
        resources.settings.token_rate_limit,
    )
