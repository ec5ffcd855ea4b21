"""Study time: SCORM attempts and total time per cadre and course, harvested incrementally.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_courseware",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("course_key", sa.String(length=64), nullable=False),
        sa.Column("tracked", sa.Boolean(), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "course_key"),
    )
    op.create_index(op.f("ix_study_courseware_year"), "study_courseware", ["year"], unique=False)
    op.create_table(
        "study_time",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("employee_no", sa.String(length=32), nullable=False),
        sa.Column("course_key", sa.String(length=64), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_tracked_at", sa.DateTime(), nullable=True),
        sa.Column("kept", sa.JSON(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "employee_no", "course_key"),
    )
    op.create_index(op.f("ix_study_time_year"), "study_time", ["year"], unique=False)
    op.create_index(op.f("ix_study_time_employee_no"), "study_time", ["employee_no"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_study_time_employee_no"), table_name="study_time")
    op.drop_index(op.f("ix_study_time_year"), table_name="study_time")
    op.drop_table("study_time")
    op.drop_index(op.f("ix_study_courseware_year"), table_name="study_courseware")
    op.drop_table("study_courseware")
