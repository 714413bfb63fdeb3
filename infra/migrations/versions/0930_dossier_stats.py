"""A statistics object on dossiers (agency_id, province_id): the planner's estimate of an
agency's dossiers (issue 18).

An agency's page names its agency and its province (`bound_scope`: on Citus the province
routes the statement to its shard). Without this object the planner takes the two conditions
as independent: it multiplies the agency's share by the province's and expects ~60 of an
agency's 23,000 dossiers, and a custom plan then sorts every one of them (82 ms on the 1M
database) instead of walking the agency's index backwards for 51 rows (0.9 ms). The
functional dependency agency_id → province_id (every agency lies in one province) tells it
the province adds nothing to the agency. ANALYZE fills it at once; autovacuum keeps it.

SQLite has no planner statistics of this kind: nothing there. On Citus the statement is
propagated to the shards (and ANALYZE with it).

Revision ID: 0930_dossier_stats
Revises: 0925_province_figures
Create Date: 2026-12-06
"""

from alembic import op

revision = "0930_dossier_stats"
down_revision = "0925_province_figures"
branch_labels = None
depends_on = None

NAME = "st_dossiers_agency_province"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE STATISTICS {NAME} (dependencies) ON agency_id, province_id FROM dossiers")
    op.execute("ANALYZE dossiers")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP STATISTICS IF EXISTS {NAME}")
