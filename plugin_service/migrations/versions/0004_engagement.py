"""Engagement: runs of the engagement jobs, the outbox of messages, the plan's dated items as fired,
discussion topics as posted, the commendation list and the survey's answers.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table("commendation",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("tier_key", sa.String(length=64), nullable=False),
    sa.Column("rank", sa.Integer(), nullable=False),
    sa.Column("tied", sa.Boolean(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=False),
    sa.Column("total_hours", sa.Double(), nullable=False),
    sa.Column("required_hours", sa.Double(), nullable=False),
    sa.Column("elective_hours", sa.Double(), nullable=False),
    sa.Column("discussion_points", sa.Double(), nullable=False),
    sa.Column("reflection_grade", sa.Double(), nullable=True),
    sa.Column("completed_on", sa.String(length=10), nullable=True),
    sa.Column("computed_for", sa.String(length=10), nullable=False),
    sa.Column("computed_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "employee_no")
    )
    with op.batch_alter_table("commendation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commendation_year"), ["year"], unique=False)

    op.create_table("discussion_topic",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("key", sa.String(length=64), nullable=False),
    sa.Column("course_key", sa.String(length=64), nullable=False),
    sa.Column("forumid", sa.Integer(), nullable=False),
    sa.Column("discussionid", sa.Integer(), nullable=False),
    sa.Column("opened_at", sa.DateTime(), nullable=False),
    sa.Column("opened_on", sa.String(length=10), nullable=False),
    sa.Column("adopted", sa.Boolean(), nullable=False),
    sa.Column("locked_at", sa.DateTime(), nullable=True),
    sa.Column("locked_on", sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "key")
    )
    with op.batch_alter_table("discussion_topic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discussion_topic_year"), ["year"], unique=False)

    op.create_table("engagement_firing",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("key", sa.String(length=64), nullable=False),
    sa.Column("due_on", sa.String(length=10), nullable=False),
    sa.Column("fired_on", sa.String(length=10), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("messages", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("run_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "kind", "key")
    )
    with op.batch_alter_table("engagement_firing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_firing_year"), ["year"], unique=False)

    op.create_table("engagement_run",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("job", sa.String(length=32), nullable=False),
    sa.Column("today", sa.String(length=10), nullable=False),
    sa.Column("actor", sa.String(length=128), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.Column("moodle_calls", sa.Integer(), nullable=False),
    sa.Column("counts", sa.JSON(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("engagement_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_run_year"), ["year"], unique=False)

    op.create_table("outbox_message",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("key", sa.String(length=255), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("source", sa.String(length=64), nullable=False),
    sa.Column("recipient", sa.String(length=32), nullable=False),
    sa.Column("moodle_userid", sa.Integer(), nullable=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("about", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("msgid", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("claimed_at", sa.DateTime(), nullable=True),
    sa.Column("sent_at", sa.DateTime(), nullable=True),
    sa.Column("run_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("key")
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_message_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_year"), ["year"], unique=False)

    op.create_table("survey_response",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("feedbackid", sa.Integer(), nullable=False),
    sa.Column("attemptid", sa.Integer(), nullable=False),
    sa.Column("userid", sa.Integer(), nullable=True),
    sa.Column("employee_no", sa.String(length=32), nullable=True),
    sa.Column("submitted_at", sa.DateTime(), nullable=True),
    sa.Column("answers", sa.JSON(), nullable=False),
    sa.Column("harvested_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("year", "feedbackid", "attemptid")
    )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_response_year"), ["year"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_response_year"))

    op.drop_table("survey_response")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_year"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_recipient"))

    op.drop_table("outbox_message")
    with op.batch_alter_table("engagement_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_run_year"))

    op.drop_table("engagement_run")
    with op.batch_alter_table("engagement_firing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_firing_year"))

    op.drop_table("engagement_firing")
    with op.batch_alter_table("discussion_topic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discussion_topic_year"))

    op.drop_table("discussion_topic")
    with op.batch_alter_table("commendation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commendation_year"))

    op.drop_table("commendation")
