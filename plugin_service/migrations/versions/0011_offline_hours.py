"""Offline study hours: trainings recorded by officers, their attendees, cadres' claims with evidence and
their review, and each learning record's counted offline hours.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offline_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("held_on", sa.String(length=10), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("organiser", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "name", "held_on"),
    )
    op.create_index(op.f("ix_offline_training_year"), "offline_training", ["year"], unique=False)
    op.create_table(
        "offline_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("employee_no", sa.String(length=32), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("held_on", sa.String(length=10), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence_path", sa.String(length=500), nullable=False),
        sa.Column("evidence_name", sa.String(length=255), nullable=False),
        sa.Column("evidence_type", sa.String(length=32), nullable=False),
        sa.Column("evidence_size", sa.Integer(), nullable=False),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("submitted_by", sa.String(length=128), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["training_id"], ["offline_training.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_offline_claim_year"), "offline_claim", ["year"], unique=False)
    op.create_index(op.f("ix_offline_claim_employee_no"), "offline_claim", ["employee_no"], unique=False)
    op.create_index(op.f("ix_offline_claim_state"), "offline_claim", ["state"], unique=False)
    op.create_table(
        "offline_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("employee_no", sa.String(length=32), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["offline_claim.id"]),
        sa.ForeignKeyConstraint(["training_id"], ["offline_training.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("training_id", "employee_no"),
    )
    op.create_index(op.f("ix_offline_attendance_training_id"), "offline_attendance", ["training_id"],
                    unique=False)
    op.create_index(op.f("ix_offline_attendance_employee_no"), "offline_attendance", ["employee_no"],
                    unique=False)
    with op.batch_alter_table("learning_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offline_hours", sa.Double(), nullable=False, server_default="0"))
    with op.batch_alter_table("learning_record", schema=None) as batch_op:
        batch_op.alter_column("offline_hours", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("learning_record", schema=None) as batch_op:
        batch_op.drop_column("offline_hours")
    op.drop_index(op.f("ix_offline_attendance_employee_no"), table_name="offline_attendance")
    op.drop_index(op.f("ix_offline_attendance_training_id"), table_name="offline_attendance")
    op.drop_table("offline_attendance")
    op.drop_index(op.f("ix_offline_claim_state"), table_name="offline_claim")
    op.drop_index(op.f("ix_offline_claim_employee_no"), table_name="offline_claim")
    op.drop_index(op.f("ix_offline_claim_year"), table_name="offline_claim")
    op.drop_table("offline_claim")
    op.drop_index(op.f("ix_offline_training_year"), table_name="offline_training")
    op.drop_table("offline_training")
