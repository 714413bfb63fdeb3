"""Row-level security on the last tables that hold a tenant's rows:

- `outbox`: an event names the agency (and province) whose change it reports, so a tenant's
  transaction sees and writes only its own tenants' events, as on every tenant table. The
  relay reads every tenant's events under the nation scope (`infra/rls.py`, `every_tenant`).
  An event of no agency is seen by its province or the nation alone.
- `module_activations`, `module_activation_events`: a province's modules, their
  configuration and its history of switches: the province's own rows (no agency column),
  seen by the province, its agencies and the nation.

The tables left without it are global by design; tests/test_rls_coverage.py lists them with
their reasons (docs/operating.md, "Tables without row-level security").

Revision ID: 0410_outbox_modules_rls
Revises: 0400_engine_base
Create Date: 2026-12-05
"""

from alembic import op

from eiso.infra.rls import enable_tenant_rls, province_predicate

revision = "0410_outbox_modules_rls"
down_revision = "0400_engine_base"
branch_labels = None
depends_on = None

# The privileges 0002_modules granted: the history is append-only.
PROVINCE_TABLES = {
    "module_activations": "SELECT, INSERT, UPDATE, DELETE",
    "module_activation_events": "SELECT, INSERT",
}


def upgrade() -> None:
    enable_tenant_rls(op, "outbox")
    for table, privileges in PROVINCE_TABLES.items():
        enable_tenant_rls(op, table, privileges=privileges, predicate=province_predicate())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("outbox", *PROVINCE_TABLES):
        op.execute(f"DROP POLICY IF EXISTS tenant_scope ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
