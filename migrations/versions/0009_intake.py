"""screening intake: submissions and the clinician's decision

Revision ID: 0009_intake
Revises: 0008_consent
Create Date: 2026-12-03 08:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_intake"
down_revision = "0008_consent"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "intake_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("instrument_version", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("needs_review", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_intake_submissions_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_intake_submissions_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id", "clinic_id"],
            ["users.id", "users.clinic_id"],
            name="fk_intake_submissions_patient_same_clinic",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_submissions")),
    )
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_intake_submissions_clinic_status", ["clinic_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_intake_submissions_patient_submitted", ["patient_id", "submitted_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_submissions_patient_submitted")
        batch_op.drop_index("ix_intake_submissions_clinic_status")

    op.drop_table("intake_submissions")
