"""session audio: prompts in the clinic's recorded voice (kept apart from the music library), and
what a cue without one sounds like

Revision ID: 0011_prompt_audio
Revises: 0010_reminders
Create Date: 2026-12-03 15:05:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_prompt_audio"
down_revision = "0010_reminders"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audio_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), server_default="track", nullable=False)
        )
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "prompt_fallback",
                sa.String(length=20),
                server_default="generated_voice",
                nullable=False,
            )
        )
    with op.batch_alter_table("template_cues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_template_cues_recording_id"), ["recording_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_template_cues_recording_id_audio_files"),
            "audio_files",
            ["recording_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("template_cues", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_template_cues_recording_id_audio_files"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_template_cues_recording_id"))
        batch_op.drop_column("recording_id")
    with op.batch_alter_table("template_versions", schema=None) as batch_op:
        batch_op.drop_column("prompt_fallback")
    with op.batch_alter_table("audio_files", schema=None) as batch_op:
        batch_op.drop_column("purpose")
