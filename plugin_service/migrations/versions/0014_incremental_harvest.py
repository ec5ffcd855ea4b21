"""The incremental harvest: the report filters set per run and the time each finished harvest read up to.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "harvest_report_read",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("whole", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("moodle_started_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("added", sa.JSON(), nullable=False),
        sa.Column("editable", sa.Boolean(), nullable=True),
        sa.Column("values_left", sa.Boolean(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("moodle_calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["harvest_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id"),
    )
    op.create_index("ix_harvest_report_read_year", "harvest_report_read", ["year"])


def downgrade() -> None:
    op.drop_index("ix_harvest_report_read_year", table_name="harvest_report_read")
    op.drop_table("harvest_report_read")
