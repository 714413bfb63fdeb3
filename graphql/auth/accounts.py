"""A province's accounts and integration clients (its administrators; the province console):
the queries `accounts` and `integrationClients`, the mutations that create, disable and reset
them. The province is named by its code; `require_province_admin` lets only a national
administrator or that province's own administrator through (another province: FORBIDDEN, an
unknown one: NOT_FOUND); an account or client of another province is NOT_FOUND
(core/auth/accounts.py). Passwords and secrets are answered once, by the mutation that makes
them, and never read again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth import accounts
from eiso.core.auth.accounts import Target
from eiso.core.auth.models import Client, User
from eiso.core.auth.rules import require_province_admin
from eiso.core.auth.tenancy import province_by_code
from eiso.graphql.shared.enums import Role
from eiso.graphql.shared.permissions import guarded
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type(description="An agency an account or a client belongs to.")
class AccountAgency:
    code: str
    name: str

    @classmethod
    def of(cls, agency: Agency | None) -> AccountAgency | None:
        return cls(code=agency.code, name=agency.name) if agency else None


@strawberry.type(description="A staff account of a province (no password is ever shown here).")
class Account:
    username: str
    display_name: str
    roles: list[Role]
    active: bool
    federated: bool = strawberry.field(
        description="Signs in through the province's identity provider (no eiso password)."
    )
    agency: AccountAgency | None = strawberry.field(
        description="The account's agency; null for an account of the province itself."
    )
    created_at: dt.datetime


@strawberry.type(description="An account with the password just set: shown this once only.")
class AccountPassword:
    account: Account
    password: str = strawberry.field(
        description="The one-time password to hand to the person; eiso keeps only its hash."
    )

    @classmethod
    def of(cls, found: tuple[accounts.Account, str]) -> AccountPassword:
        return cls(account=_account(found[0]), password=found[1])


@strawberry.type(description="An integration client (OAuth 2 client credentials) of a province.")
class IntegrationClient:
    client_id: str
    name: str
    scopes: list[str]
    active: bool
    agency: AccountAgency | None = strawberry.field(
        description="The agency the client is bound to; null when bound to the province."
    )
    created_at: dt.datetime


@strawberry.type(description="A new integration client and its secret: shown this once only.")
class IntegrationClientSecret:
    client: IntegrationClient
    secret: str = strawberry.field(
        description="The client secret; eiso keeps only a keyed hash of it."
    )


def _held(row: User | Client, agency: Agency | None) -> dict[str, Any]:
    """The fields an account and a client share: whether active, their agency, when made."""
    return {"active": row.active, "agency": AccountAgency.of(agency), "created_at": row.created_at}


def _account(found: accounts.Account) -> Account:
    user = found.user
    return Account(
        **_held(user, found.agency),
        username=user.username,
        display_name=user.display_name,
        roles=[Role(role) for role in user.roles],
        federated=user.idp_issuer is not None,
    )


def _client(found: accounts.IntegrationClient) -> IntegrationClient:
    row = found.client
    return IntegrationClient(
        **_held(row, found.agency),
        client_id=row.client_id,
        name=row.name,
        scopes=list(row.scopes),
    )


async def _as_admin(
    info: strawberry.Info,
    province_code: str,
    work: Callable[[AsyncSession, Target], Awaitable[T]],
) -> T:
    """`work(session, province)` in one transaction, for the province's administrators."""
    async with info.context.resources.session(TenantScope.nation()) as session, session.begin():
        province = Target.of(await province_by_code(session, province_code))
        require_province_admin(info.context.principal, province.id)
        return await work(session, province)


async def _on_one(
    info: strawberry.Info,
    province_code: str,
    service: Callable[..., Awaitable[R]],
    key: str,
    node: Callable[[R], T],
) -> T:
    """`service(session, province id, key, actor=…)` on one account or client, as the admin,
    as a node."""

    async def work(session: AsyncSession, province: Target) -> T:
        return node(await service(session, province.id, key, actor=_actor(info)))

    return await _as_admin(info, province_code, work)


def _actor(info: strawberry.Info) -> str:
    """Who acts, as the audit chain names them: the administrator's subject (user id)."""
    return str(info.context.principal.subject)


@guarded
class AccountsQuery:
    @strawberry.field(
        description="The province's staff accounts (its own and its agencies'), by username; "
        "`search` matches the username or the name (at most 1000)."
    )
    async def accounts(
        self, info: strawberry.Info, province_code: str, search: str | None = None
    ) -> list[Account]:
        async def work(session: AsyncSession, province: Target) -> list[Account]:
            found = await accounts.list_accounts(session, province.id, (search or "")[:100])
            return [_account(row) for row in found]

        return await _as_admin(info, province_code, work)

    @strawberry.field(description="The province's integration clients, newest first.")
    async def integration_clients(
        self, info: strawberry.Info, province_code: str
    ) -> list[IntegrationClient]:
        async def work(session: AsyncSession, province: Target) -> list[IntegrationClient]:
            return [_client(row) for row in await accounts.list_clients(session, province.id)]

        return await _as_admin(info, province_code, work)


@guarded
class AccountsMutation:
    @strawberry.mutation(
        description="Create an account of the province (of one of its agencies with "
        "`agencyCode`) with a one-time password, answered once."
    )
    async def create_account(
        self,
        info: strawberry.Info,
        province_code: str,
        username: str,
        role: Role,
        agency_code: str | None = None,
        display_name: str = "",
    ) -> AccountPassword:
        async def work(session: AsyncSession, province: Target) -> AccountPassword:
            found, password = await accounts.create_account(
                session,
                province,
                username=username.strip(),
                role=role.value,
                agency_code=agency_code or None,
                display_name=display_name,
                actor=_actor(info),
            )
            return AccountPassword.of((found, password))

        return await _as_admin(info, province_code, work)

    @strawberry.mutation(
        description="Disable an account of the province: it can no longer sign in."
    )
    async def disable_account(
        self, info: strawberry.Info, province_code: str, username: str
    ) -> Account:
        return await _on_one(info, province_code, accounts.disable_account, username, _account)

    @strawberry.mutation(
        description="Give an account of the province a new one-time password (answered once) "
        "and enable it; its sessions end at their next refresh."
    )
    async def reset_account_password(
        self, info: strawberry.Info, province_code: str, username: str
    ) -> AccountPassword:
        return await _on_one(
            info, province_code, accounts.reset_password, username, AccountPassword.of
        )

    @strawberry.mutation(
        description="Create an integration client (client credentials) of the province, or of "
        "one of its agencies with `agencyCode`; its secret is answered once."
    )
    async def create_integration_client(
        self,
        info: strawberry.Info,
        province_code: str,
        name: str,
        scopes: list[str],
        agency_code: str | None = None,
    ) -> IntegrationClientSecret:
        secret_key = info.context.resources.settings.secret_key.get_secret_value()

        async def work(session: AsyncSession, province: Target) -> IntegrationClientSecret:
            found, secret = await accounts.create_client(
                session,
                province,
                secret_key=secret_key,
                name=name,
                scopes=scopes,
                agency_code=agency_code or None,
                actor=_actor(info),
            )
            return IntegrationClientSecret(client=_client(found), secret=secret)

        return await _as_admin(info, province_code, work)

    @strawberry.mutation(
        description="Disable an integration client of the province: it gets no new token."
    )
    async def disable_integration_client(
        self, info: strawberry.Info, province_code: str, client_id: str
    ) -> IntegrationClient:
        return await _on_one(info, province_code, accounts.disable_client, client_id, _client)
