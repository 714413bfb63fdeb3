"""The auth tables. All are global (not tenant-owned): a login must find its user before any
tenant scope exists, and the rows carry the province / agency they belong to as plain columns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from eiso.infra.clock import utcnow
from eiso.infra.ids import new_id


class User(SQLModel, table=True):
    """A staff account. Belongs to an agency (agency_id set), a province (province_id only) or
    the nation (neither). Federated users have no password and an (idp_issuer, idp_subject)."""

    __tablename__ = "auth_users"
    __table_args__ = (UniqueConstraint("idp_issuer", "idp_subject", name="uq_auth_users_idp"),)

    id: int = Field(default_factory=new_id, sa_type=BigInteger, primary_key=True)
    username: str = Field(sa_column=Column(String(150), unique=True, nullable=False))
    display_name: str = Field(default="", max_length=300)
    password_hash: str | None = Field(default=None, max_length=300)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    province_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="provinces.id", index=True
    )
    agency_id: int | None = Field(default=None, sa_type=BigInteger)
    idp_issuer: str | None = Field(default=None, max_length=500)
    idp_subject: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)


class Client(SQLModel, table=True):
    """An OAuth2 client: a frontend (public, PKCE, no secret) or an integration (confidential,
    client credentials, tenant-bound). Only a keyed hash of the secret is stored
    (core/auth/client_secrets.py; rows of before issue 18: argon2id until next use)."""

    __tablename__ = "auth_clients"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(default="", max_length=200)
    secret_hash: str | None = Field(default=None, max_length=300)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    grant_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    province_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="provinces.id")
    agency_id: int | None = Field(default=None, sa_type=BigInteger)
    # A disabled client (by its province's administrator) gets no new token.
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)


class SigningKey(SQLModel, table=True):
    """A token signing key. The private JWK is encrypted with a key derived from
    EISO_SECRET_KEY (see keys.py); the public JWK is published while the key may still verify
    live tokens (retired_at is null, or retired less than a token lifetime ago)."""

    __tablename__ = "auth_signing_keys"

    kid: str = Field(sa_column=Column(String(64), primary_key=True))
    alg: str = Field(max_length=16)
    public_jwk: dict = Field(sa_column=Column(JSON, nullable=False))
    private_jwk_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)
    retired_at: dt.datetime | None = None


class RefreshToken(SQLModel, table=True):
    """A refresh token, stored as its SHA-256 (the token itself is never stored)."""

    __tablename__ = "auth_refresh_tokens"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    client_id: str = Field(max_length=64, index=True)
    user_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    scope: str = Field(default="", max_length=1000)
    issued_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None


class IdentityProvider(SQLModel, table=True):
    """A province's own OIDC identity provider (federated staff login)."""

    __tablename__ = "auth_identity_providers"

    province_id: int = Field(sa_type=BigInteger, foreign_key="provinces.id", primary_key=True)
    issuer: str = Field(max_length=500)
    # Where the discovery document is, when it is not `{issuer}/.well-known/openid-configuration`.
    metadata_url: str | None = Field(default=None, max_length=500)
    client_id: str = Field(max_length=200)
    client_secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    scope: str = Field(default="openid profile", max_length=500)
    # IdP claim names for eiso fields, e.g. {"username": "preferred_username", "agency": ...}.
    claim_mapping: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    default_role: str = Field(default="officer", max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow)


class RevokedToken(SQLModel, table=True):
    """A revoked access token's `jti`, kept until the token would have expired anyway. The
    durable record of a revocation: Redis holds a copy for the per-request check, and the
    database answers while Redis is down or after it restarted empty (core/auth/revocations.py)."""

    __tablename__ = "auth_revoked_tokens"

    jti: str = Field(sa_column=Column(String(64), primary_key=True))
    expires_at: dt.datetime = Field(index=True)
