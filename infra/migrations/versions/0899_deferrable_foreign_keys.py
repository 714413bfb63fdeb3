"""Every foreign key DEFERRABLE (INITIALLY IMMEDIATE) on PostgreSQL, so that a province merge
(tenants/reorganisation.py), which re-keys a province's rows parent and child in turn under
`SET CONSTRAINTS ALL DEFERRED`, can move a province that has dossiers: `fk_dossier_steps_dossier`
and the other composite keys were checked at each UPDATE and refused the first one. Checks stay
immediate everywhere else. SQLite defers them with `PRAGMA defer_foreign_keys` already; Citus
refuses province merges (and ALTER CONSTRAINT on distributed tables), so it is left as it is.

Revision ID: 0899_deferrable_foreign_keys
Revises: 0895_client_switch
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0899_deferrable_foreign_keys"
down_revision = "0895_client_switch"
branch_labels = None
depends_on = None

KEYS = """SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
 JOIN pg_namespace n ON n.oid = c.connamespace
 WHERE c.contype = 'f' AND n.nspname = current_schema() AND c.condeferrable = {deferrable}"""


def _alter(deferrable: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or _citus(bind):
        return
    want = "DEFERRABLE INITIALLY IMMEDIATE" if deferrable else "NOT DEFERRABLE"
    keys = bind.execute(sa.text(KEYS.format(deferrable="false" if deferrable else "true")))
    for table, name in keys.all():
        op.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" {want}')


def _citus(bind: sa.engine.Connection) -> bool:
    found = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
    return found.first() is not None


def upgrade() -> None:
    _alter(True)


def downgrade() -> None:
    _alter(False)
