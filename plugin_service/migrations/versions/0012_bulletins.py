"""Bulletins: each one sent, its ranked figures by department and tier, and its files.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("bulletin",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("key", sa.String(length=64), nullable=False),
    sa.Column("title", sa.String(length=255), nullable=False),
    sa.Column("due_on", sa.String(length=10), nullable=False),
    sa.Column("issued_on", sa.String(length=10), nullable=False),
    sa.Column("records_for", sa.String(length=10), nullable=False),
    sa.Column("audiences", sa.JSON(), nullable=False),
    sa.Column("readers", sa.JSON(), nullable=False),
    sa.Column("messages", sa.Integer(), nullable=False),
    sa.Column("notes", sa.JSON(), nullable=False),
    sa.Column("previous_id", sa.Integer(), nullable=True),
    sa.Column("pdf_path", sa.String(length=500), nullable=False),
    sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
    sa.Column("xlsx_path", sa.String(length=500), nullable=False),
    sa.Column("xlsx_sha256", sa.String(length=64), nullable=True),
    sa.Column("issued_at", sa.DateTime(), nullable=False),
    sa.Column("actor", sa.String(length=128), nullable=False),
    sa.Column("run_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["previous_id"], ["bulletin.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "key")
    )
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulletin_year"), ["year"], unique=False)

    op.create_table("bulletin_line",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("bulletin_id", sa.Integer(), nullable=False),
    sa.Column("grouping", sa.String(length=16), nullable=False),
    sa.Column("key", sa.String(length=128), nullable=False),
    sa.Column("name", sa.String(length=128), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("cadres", sa.Integer(), nullable=False),
    sa.Column("complete", sa.Integer(), nullable=False),
    sa.Column("behind", sa.Integer(), nullable=False),
    sa.Column("hours", sa.Double(), nullable=False),
    sa.Column("rate", sa.Double(), nullable=False),
    sa.Column("mean_hours", sa.Double(), nullable=False),
    sa.Column("rank", sa.Integer(), nullable=True),
    sa.Column("tied", sa.Boolean(), nullable=False),
    sa.Column("is_new", sa.Boolean(), nullable=False),
    sa.Column("previous_rank", sa.Integer(), nullable=True),
    sa.Column("previous_rate", sa.Double(), nullable=True),
    sa.Column("previous_mean_hours", sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(["bulletin_id"], ["bulletin.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("bulletin_id", "grouping", "key")
    )
    with op.batch_alter_table("bulletin_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulletin_line_bulletin_id"), ["bulletin_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bulletin_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletin_line_bulletin_id"))

    op.drop_table("bulletin_line")
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletin_year"))

    op.drop_table("bulletin")
