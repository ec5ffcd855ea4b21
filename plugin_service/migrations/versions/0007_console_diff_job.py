"""The console's diff as a job: its job, its change lines and its error kept with the upload.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The name PostgreSQL gives an unnamed foreign key, written out so that the downgrade can drop it.
DIFF_JOB_KEY = "console_upload_diff_job_id_fkey"


def upgrade() -> None:
    with op.batch_alter_table("console_upload", schema=None) as batch_op:
        batch_op.add_column(sa.Column("diff_lines", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("diff_error", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("diff_job_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(DIFF_JOB_KEY, "job_request", ["diff_job_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("console_upload", schema=None) as batch_op:
        batch_op.drop_constraint(DIFF_JOB_KEY, type_="foreignkey")
        batch_op.drop_column("diff_job_id")
        batch_op.drop_column("diff_error")
        batch_op.drop_column("diff_lines")
