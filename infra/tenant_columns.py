"""The columns every tenant table starts with, for migrations: (province_id, id) as the key,
agency_id, and the composite foreign key that keeps the row inside its agency's province."""

from __future__ import annotations

import sqlalchemy as sa


def tenant_columns(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("province_id", sa.BigInteger, primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("agency_id", sa.BigInteger, nullable=False, index=True),
        sa.ForeignKeyConstraint(
            ["province_id", "agency_id"],
            ["agencies.province_id", "agencies.id"],
            name=f"fk_{table}_agency",
        ),
    ]
