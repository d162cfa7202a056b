"""accreditation: every decision on a registration kept, with the identity check behind an approval

Revision ID: 0014_registration_decisions
Revises: 0010_xapi
Create Date: 2026-12-04 05:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014_registration_decisions'
down_revision = '0010_xapi'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registration_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('identity_method', sa.String(length=20), nullable=True),
    sa.Column('identity_note', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status = 'rejected' OR identity_method IS NOT NULL",
                       name=op.f('ck_registration_decisions_approval_has_identity_check')),
    sa.CheckConstraint("status IN ('approved', 'rejected')", name=op.f('ck_registration_decisions_status_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_registration_decisions_decided_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['pathway_registrations.id'],
                            name=op.f('fk_registration_decisions_registration_id_pathway_registrations'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_decisions')),
    sa.UniqueConstraint('registration_id', 'sequence',
                        name=op.f('uq_registration_decisions_registration_id_sequence'))
    )
    with op.batch_alter_table('registration_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_decisions_registration_id'), ['registration_id'],
                              unique=False)
    # Each registration already decided gets its decision as the first of its history. An approval made
    # before the identity check was recorded says so rather than claiming a check nobody recorded.
    op.execute("""
        INSERT INTO registration_decisions (registration_id, sequence, status, reason, identity_method,
                                            identity_note, decided_by_id, decided_at)
        SELECT id, 1, status, reason, CASE WHEN status = 'approved' THEN 'not-recorded' END,
               CASE WHEN status = 'approved' AND identity_checked THEN 'Marked as checked; method not recorded'
                    ELSE '' END,
               decided_by_id, COALESCE(decided_at, updated_at)
        FROM pathway_registrations WHERE status IN ('approved', 'rejected')
    """)


def downgrade():
    with op.batch_alter_table('registration_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_decisions_registration_id'))
    op.drop_table('registration_decisions')
