"""Login throttling and token-endpoint rate limits, in Redis so every worker shares them.

- Login: each failed password for a username counts; after `login_max_failures` within the
  lockout window the account is locked for `login_lockout_seconds` and the login page says so
  (even a correct password is refused while locked). A success clears the count.
- Token endpoint: a fixed one-minute window per client id (or per address when the request
  names no client): at most `token_rate_limit` requests, then 429 with Retry-After.
"""

from __future__ import annotations

from eiso.core.resources import Resources
from eiso.infra.rate_limit import retry_after


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
        ttl = await self.resources.redis.ttl(self._lock(username))
        return max(int(ttl), 0)

    async def failed(self, username: str) -> int:
        """Record a failure; returns the seconds of lockout it caused (0 if none)."""
        redis = self.resources.redis
        key = self._failures(username)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.lockout)
            count, _ = await pipe.execute()
        if int(count) >= self.max_failures:
            await redis.set(self._lock(username), "1", ex=self.lockout)
            await redis.delete(key)
            return self.lockout
        return 0

    async def succeeded(self, username: str) -> None:
        await self.resources.redis.delete(self._failures(username))


async def token_rate_limited(resources: Resources, who: str) -> int:
    """0 when the request may proceed, else the seconds to wait."""
    return await retry_after(
        resources.redis,
        resources.key("auth", "token-rate", who),
        resources.settings.token_rate_limit,
    )
