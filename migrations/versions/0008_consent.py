"""consent: versioned consent documents per clinic, and patients' signatures on them

Revision ID: 0008_consent
Revises: 0007_instruments
Create Date: 2026-12-03 08:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_consent'
down_revision = '0007_instruments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consent_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body_markdown', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_consent_documents_clinic_id_clinics')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_consent_documents_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_documents')),
    sa.UniqueConstraint('clinic_id', 'version', name=op.f('uq_consent_documents_clinic_id_version')),
    sa.UniqueConstraint('id', 'clinic_id', name='uq_consent_documents_id_clinic_id')
    )
    op.create_table('consent_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('typed_name', sa.Text(), nullable=False),
    sa.Column('agreed', sa.Boolean(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('agreed', name=op.f('ck_consent_signatures_agreed')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_consent_signatures_clinic_id_clinics')),
    sa.ForeignKeyConstraint(['document_id', 'clinic_id'], ['consent_documents.id', 'consent_documents.clinic_id'], name='fk_consent_signatures_document_same_clinic'),
    sa.ForeignKeyConstraint(['patient_id', 'clinic_id'], ['users.id', 'users.clinic_id'], name='fk_consent_signatures_patient_same_clinic'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_signatures')),
    sa.UniqueConstraint('patient_id', 'document_id', name=op.f('uq_consent_signatures_patient_id_document_id'))
    )
    with op.batch_alter_table('consent_signatures', schema=None) as batch_op:
        batch_op.create_index('ix_consent_signatures_patient_signed', ['patient_id', 'signed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('consent_signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_signatures_patient_signed')

    op.drop_table('consent_signatures')
    op.drop_table('consent_documents')
