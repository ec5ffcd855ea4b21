"""The console: its users, settings changed in it, the jobs it started and the plans and rosters
uploaded to it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("console_user",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("username", sa.String(length=64), nullable=False),
    sa.Column("password_hash", sa.String(length=255), nullable=False),
    sa.Column("role", sa.String(length=16), nullable=False),
    sa.Column("departments", sa.JSON(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=True),
    sa.Column("disabled", sa.Boolean(), nullable=False),
    sa.Column("session_version", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("last_login_at", sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("username")
    )
    op.create_table("job_request",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("task_id", sa.String(length=64), nullable=False),
    sa.Column("year", sa.Integer(), nullable=True),
    sa.Column("params", sa.JSON(), nullable=False),
    sa.Column("actor", sa.String(length=128), nullable=False),
    sa.Column("requested_at", sa.DateTime(), nullable=False),
    sa.Column("state", sa.String(length=16), nullable=False),
    sa.Column("result", sa.JSON(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.Column("retry_of", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["retry_of"], ["job_request.id"]),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("job_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_request_requested_at"), ["requested_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_request_task_id"), ["task_id"], unique=False)

    op.create_table("site_setting",
    sa.Column("key", sa.String(length=64), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("secret", sa.Boolean(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("updated_by", sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint("key")
    )
    op.create_table("console_upload",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("plan_filename", sa.String(length=255), nullable=False),
    sa.Column("plan_text", sa.Text(), nullable=False),
    sa.Column("roster_filename", sa.String(length=255), nullable=False),
    sa.Column("roster_content", sa.LargeBinary(), nullable=False),
    sa.Column("cadres", sa.Integer(), nullable=False),
    sa.Column("warnings", sa.JSON(), nullable=False),
    sa.Column("uploaded_by", sa.String(length=128), nullable=False),
    sa.Column("uploaded_at", sa.DateTime(), nullable=False),
    sa.Column("diff_counts", sa.JSON(), nullable=True),
    sa.Column("diffed_at", sa.DateTime(), nullable=True),
    sa.Column("plan_id", sa.Integer(), nullable=True),
    sa.Column("roster_id", sa.Integer(), nullable=True),
    sa.Column("job_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["job_id"], ["job_request.id"]),
    sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
    sa.ForeignKeyConstraint(["roster_id"], ["roster.id"]),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("console_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_upload_year"), ["year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("console_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_upload_year"))

    op.drop_table("console_upload")
    op.drop_table("site_setting")
    with op.batch_alter_table("job_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_request_task_id"))
        batch_op.drop_index(batch_op.f("ix_job_request_requested_at"))

    op.drop_table("job_request")
    op.drop_table("console_user")
