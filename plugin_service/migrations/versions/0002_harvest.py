"""Harvest runs and checkpoints, course progress, reflections, discussion participation, learning
records and their status history.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("course_progress",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=False),
    sa.Column("course_key", sa.String(length=64), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=True),
    sa.Column("last_access_at", sa.DateTime(), nullable=True),
    sa.Column("first_completed_at", sa.DateTime(), nullable=True),
    sa.Column("completed_at", sa.DateTime(), nullable=True),
    sa.Column("reset_seen_at", sa.DateTime(), nullable=True),
    sa.Column("activities_done", sa.Integer(), nullable=True),
    sa.Column("activities_total", sa.Integer(), nullable=True),
    sa.Column("activities_stale", sa.Boolean(), nullable=False),
    sa.Column("grade", sa.Double(), nullable=True),
    sa.Column("grade_max", sa.Double(), nullable=True),
    sa.Column("fingerprint", sa.String(length=64), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("run_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "employee_no", "course_key")
    )
    with op.batch_alter_table("course_progress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_course_progress_employee_no"), ["employee_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_course_progress_year"), ["year"], unique=False)

    op.create_table("discussion_participation",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=False),
    sa.Column("discussion_key", sa.String(length=64), nullable=False),
    sa.Column("posts_in_window", sa.Integer(), nullable=False),
    sa.Column("posts_total", sa.Integer(), nullable=False),
    sa.Column("first_post_at", sa.DateTime(), nullable=True),
    sa.Column("last_post_at", sa.DateTime(), nullable=True),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "employee_no", "discussion_key")
    )
    with op.batch_alter_table("discussion_participation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discussion_participation_employee_no"), ["employee_no"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_discussion_participation_year"), ["year"], unique=False)

    op.create_table("harvest_run",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("mode", sa.String(length=16), nullable=False),
    sa.Column("path", sa.String(length=16), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.Column("today", sa.String(length=10), nullable=False),
    sa.Column("moodle_calls", sa.Integer(), nullable=False),
    sa.Column("rows_read", sa.Integer(), nullable=False),
    sa.Column("changes", sa.Integer(), nullable=False),
    sa.Column("seconds", sa.Double(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("marks", sa.JSON(), nullable=False),
    sa.Column("summary", sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("harvest_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_harvest_run_year"), ["year"], unique=False)

    op.create_table("learning_record",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=False),
    sa.Column("tier_key", sa.String(length=64), nullable=True),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("status_since", sa.String(length=10), nullable=False),
    sa.Column("required_hours", sa.Double(), nullable=False),
    sa.Column("elective_hours", sa.Double(), nullable=False),
    sa.Column("total_hours", sa.Double(), nullable=False),
    sa.Column("target_hours", sa.Double(), nullable=False),
    sa.Column("discussion_points", sa.Double(), nullable=False),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.Column("computed_at", sa.DateTime(), nullable=False),
    sa.Column("computed_for", sa.String(length=10), nullable=False),
    sa.Column("run_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "employee_no")
    )
    with op.batch_alter_table("learning_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learning_record_employee_no"), ["employee_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_learning_record_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_learning_record_tier_key"), ["tier_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_learning_record_year"), ["year"], unique=False)

    op.create_table("reflection",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=False),
    sa.Column("course_key", sa.String(length=64), nullable=False),
    sa.Column("assignment_id", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("submitted_at", sa.DateTime(), nullable=True),
    sa.Column("chars", sa.Integer(), nullable=False),
    sa.Column("grade", sa.Double(), nullable=True),
    sa.Column("grader_userid", sa.Integer(), nullable=True),
    sa.Column("grader", sa.String(length=128), nullable=False),
    sa.Column("graded_at", sa.DateTime(), nullable=True),
    sa.Column("grade_changes", sa.Integer(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "employee_no", "course_key")
    )
    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reflection_employee_no"), ["employee_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_reflection_year"), ["year"], unique=False)

    op.create_table("status_change",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("previous", sa.String(length=16), nullable=True),
    sa.Column("tier_key", sa.String(length=64), nullable=True),
    sa.Column("on", sa.String(length=10), nullable=False),
    sa.Column("total_hours", sa.Double(), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("run_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.create_index("ix_status_change_year_cadre", ["year", "employee_no"], unique=False)

    op.create_table("harvest_step",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("run_id", sa.Integer(), nullable=False),
    sa.Column("step", sa.String(length=32), nullable=False),
    sa.Column("item", sa.String(length=64), nullable=False),
    sa.Column("moodle_calls", sa.Integer(), nullable=False),
    sa.Column("rows_read", sa.Integer(), nullable=False),
    sa.Column("changes", sa.Integer(), nullable=False),
    sa.Column("seconds", sa.Double(), nullable=False),
    sa.Column("finished_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["run_id"], ["harvest_run.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("run_id", "step", "item")
    )
    with op.batch_alter_table("harvest_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_harvest_step_run_id"), ["run_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("harvest_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_step_run_id"))

    op.drop_table("harvest_step")
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.drop_index("ix_status_change_year_cadre")

    op.drop_table("status_change")
    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reflection_year"))
        batch_op.drop_index(batch_op.f("ix_reflection_employee_no"))

    op.drop_table("reflection")
    with op.batch_alter_table("learning_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learning_record_year"))
        batch_op.drop_index(batch_op.f("ix_learning_record_tier_key"))
        batch_op.drop_index(batch_op.f("ix_learning_record_status"))
        batch_op.drop_index(batch_op.f("ix_learning_record_employee_no"))

    op.drop_table("learning_record")
    with op.batch_alter_table("harvest_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_run_year"))

    op.drop_table("harvest_run")
    with op.batch_alter_table("discussion_participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discussion_participation_year"))
        batch_op.drop_index(batch_op.f("ix_discussion_participation_employee_no"))

    op.drop_table("discussion_participation")
    with op.batch_alter_table("course_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_progress_year"))
        batch_op.drop_index(batch_op.f("ix_course_progress_employee_no"))

    op.drop_table("course_progress")
