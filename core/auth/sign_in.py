"""Sign-in with a local password: the lockout, the argon2 check and the failure count
(core/auth/throttle.py). The authorization page (core/http/oauth_routes.py) says the outcome."""

from __future__ import annotations

import asyncio
import dataclasses

from eiso.core.auth.models import User
from eiso.core.auth.passwords import verify_password
from eiso.core.auth.throttle import LoginThrottle
from eiso.core.auth.users import get_by_username
from eiso.core.resources import Resources
from eiso.tenants.scope import TenantScope


@dataclasses.dataclass(frozen=True)
class SignIn:
    """The user when the password is right and the account active; else why not."""

    user: User | None = None
    locked_for: int = 0  # seconds left of a lockout: the password was not even checked
    locked_now: bool = False  # this failure locked the account


async def sign_in(resources: Resources, username: str, password: str) -> SignIn:
    throttle = LoginThrottle(resources)
    locked = await throttle.locked_for(username)
    if locked:
        return SignIn(locked_for=locked)
    async with resources.session(TenantScope.nation()) as session:
        user = await get_by_username(session, username)
    # argon2 is deliberately slow: run it off the event loop.
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if not (ok and user is not None and user.active):
        return SignIn(locked_now=bool(await throttle.failed(username)))
    await throttle.succeeded(username)
    return SignIn(user=user)
