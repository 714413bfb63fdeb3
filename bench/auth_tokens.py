"""Auth costs per operation, measured in one run: `python bench/auth_tokens.py [seconds]`.

Baseline: decoding a token's payload without checking it (what any bearer parsing costs).
Against it: full access-token verification (RS256 signature + claims), token issuance, and an
argon2 password check (the cost of one login).
"""

from __future__ import annotations

import base64
import json
import sys
import time

from joserfc.jwk import KeySet, RSAKey

from eiso.core.auth import tokens
from eiso.core.auth.passwords import hash_password, verify_password
from eiso.tenants.scope import TenantScope


def rate(work, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            work()
        count += 20
    return count / elapsed


def main(seconds: float = 1.0) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "bench", "alg": "RS256"}, private=True)
    keys = KeySet([RSAKey.import_key(key.as_dict(private=False))])
    common = {"issuer": "https://eiso.example", "audience": "eiso"}

    def issue() -> str:
        return tokens.issue(
            key,
            **common,
            lifetime=900,
            subject="1",
            client_id="web",
            tenant=TenantScope.agencies([7], [1]),
            roles=["officer"],
            scope="qms:read",
        )

    token = issue()
    payload = token.split(".")[1]
    password_hash = hash_password("mật-khẩu-đủ-dài")

    results = {
        "decode payload only (baseline)": rate(
            lambda: json.loads(base64.urlsafe_b64decode(payload + "==")), seconds
        ),
        "verify access token (RS256 + claims)": rate(
            lambda: tokens.verify(token, keys, **common), seconds
        ),
        "issue access token (RS256 sign)": rate(issue, seconds),
        "argon2 password check (one login)": rate(
            lambda: verify_password(password_hash, "mật-khẩu-đủ-dài"), seconds
        ),
    }
    baseline = results["decode payload only (baseline)"]
    print(f"{'operation':42} {'ops/s':>12} {'x baseline cost':>16}")
    for name, ops in results.items():
        print(f"{name:42} {ops:12.0f} {baseline / ops:16.1f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
