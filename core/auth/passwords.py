"""People's passwords, hashed with argon2id at OWASP's minimum configuration.

OWASP Password Storage Cheat Sheet (Argon2id section): "a minimum configuration of 19 MiB of
memory, an iteration count of 2, and 1 degree of parallelism" (m=19456 KiB, t=2, p=1). It
costs a third of argon2-cffi's default (64 MiB, t=3, p=4) in memory, which bounds what many
sign-ins in flight can take; one parallel lane suits a server that answers several requests at
once. Hashes made with other parameters (the earlier defaults) still verify: the parameters are
in the hash. Verification is slow on purpose: callers run it off the event loop
(`asyncio.to_thread`, core/auth/sign_in.py). Client secrets are not hashed here: see
core/auth/client_secrets.py.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM, type=Type.ID
)
# Verifying against this when the user does not exist costs the same time as a real check,
# so response times do not reveal which usernames exist.
_DUMMY = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
