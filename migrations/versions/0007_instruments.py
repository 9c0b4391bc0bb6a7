"""instruments as data: versioned definitions, clinic questionnaires, text answers, template requirements

PHQ-9 and GAD-7 history stays as it is: every existing response is version 1 of its
instrument (the published text the app always asked), with its answers and score untouched.

Revision ID: 0007_instruments
Revises: 0006_session_day
Create Date: 2026-12-03 08:17:50.366581

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_instruments'
down_revision = '0006_session_day'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clinic_instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_clinic_instruments_clinic_id_clinics')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_clinic_instruments_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_instruments')),
    sa.UniqueConstraint('clinic_id', 'code', 'version', name=op.f('uq_clinic_instruments_clinic_id_code_version'))
    )
    with op.batch_alter_table('clinic_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinic_instruments_clinic_id'), ['clinic_id'], unique=False)

    with op.batch_alter_table('measure_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instrument_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('text_answers', sa.Text(), server_default='', nullable=False))
        batch_op.alter_column('instrument',
               existing_type=sa.VARCHAR(length=10),
               type_=sa.String(length=40),
               existing_nullable=False)
        batch_op.alter_column('score',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('severity',
               existing_type=sa.VARCHAR(length=30),
               nullable=True)

    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_intake', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('requires_consent', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('checkin_instruments', sa.JSON(), server_default='["phq9", "gad7"]', nullable=False))
        batch_op.add_column(sa.Column('after_instruments', sa.JSON(), server_default='["side_effects"]', nullable=False))
        batch_op.add_column(sa.Column('monthly_instruments', sa.JSON(), server_default='["bladder"]', nullable=False))


def downgrade():
    # The old table holds only scored PHQ-9 and GAD-7 answers of 0 to 3: anything else (the
    # other instruments, a clinic's own) cannot be kept in it.
    op.execute(
        "DELETE FROM measure_responses WHERE instrument NOT IN ('phq9', 'gad7') OR score IS NULL"
    )
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.drop_column('monthly_instruments')
        batch_op.drop_column('after_instruments')
        batch_op.drop_column('checkin_instruments')
        batch_op.drop_column('requires_consent')
        batch_op.drop_column('requires_intake')

    with op.batch_alter_table('measure_responses', schema=None) as batch_op:
        batch_op.alter_column('severity',
               existing_type=sa.VARCHAR(length=30),
               nullable=False)
        batch_op.alter_column('score',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.alter_column('instrument',
               existing_type=sa.String(length=40),
               type_=sa.VARCHAR(length=10),
               existing_nullable=False)
        batch_op.drop_column('text_answers')
        batch_op.drop_column('instrument_version')

    with op.batch_alter_table('clinic_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinic_instruments_clinic_id'))

    op.drop_table('clinic_instruments')
