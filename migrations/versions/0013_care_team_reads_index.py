"""care team reads index: on PostgreSQL, a partial index of the shared, not deleted journal
entries by patient and time (with their ids) replaces the index of (patient_id, shared)

Revision ID: 0013_care_team_reads_index
Revises: 0012_media_store
Create Date: 2026-12-04 15:00:00.000000

Only a care team's reads filter on ``shared`` (services/journal/entries.py
``care_team_entry_filter``), and always with ``deleted_at IS NULL``: the new index holds just
those entries, in the order a patient's shared entries are listed, and the dashboard counts
its unread entries from the index alone. Its condition is written as SQLAlchemy writes the
query's (``shared``, not ``shared IS true``), or PostgreSQL cannot use it. SQLite's planner
read these entries by ix_journal_entries_patient_created whichever index there was, so SQLite
only loses the old one.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_care_team_reads_index"
down_revision = "0012_media_store"
branch_labels = None
depends_on = None


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _on_postgresql():
        op.create_index(
            "ix_journal_entries_care_team_reads",
            "journal_entries",
            ["patient_id", "created_at", "id"],
            postgresql_where=sa.text("shared AND deleted_at IS NULL"),
        )
    op.drop_index("ix_journal_entries_patient_shared", table_name="journal_entries")


def downgrade():
    op.create_index(
        "ix_journal_entries_patient_shared", "journal_entries", ["patient_id", "shared"]
    )
    if _on_postgresql():
        op.drop_index("ix_journal_entries_care_team_reads", table_name="journal_entries")
