"""Running it for real: the code version holding each job lock (an upgrade waits for the jobs of another
version), and Moodle calls and failed calls per function for the metrics.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.alter_column("version", server_default=None)
    op.create_table(
        "moodle_call_stat",
        sa.Column("function", sa.String(length=128), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("function"),
    )


def downgrade() -> None:
    op.drop_table("moodle_call_stat")
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.drop_column("version")
