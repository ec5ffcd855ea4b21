"""Completion times kept to the minute, whichever path read them: times stored to the second by earlier
per-user harvests are cut to their minute, so that a completion the report reads next (to the minute)
is the same value, not a change. No day moves (a day starts on a minute), so no hours move.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PROGRESS = sa.table("course_progress", sa.column("id", sa.Integer()),
                    sa.column("first_completed_at", sa.DateTime()), sa.column("completed_at", sa.DateTime()))
#: Rows updated per statement.
CHUNK = 1000


def _minute(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(second=0, microsecond=0)


def upgrade() -> None:
    """Read and written through SQLAlchemy's types, not SQL date functions: SQLite keeps times as text
    that must stay in the form the models read and compare."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(PROGRESS.c.id, PROGRESS.c.first_completed_at,
                                        PROGRESS.c.completed_at)
                              .where(sa.or_(PROGRESS.c.first_completed_at.is_not(None),
                                            PROGRESS.c.completed_at.is_not(None)))).all()
    changed = [{"row_id": row_id, "first": _minute(first), "again": _minute(again)}
               for row_id, first, again in rows
               if (first, again) != (_minute(first), _minute(again))]
    statement = (sa.update(PROGRESS).where(PROGRESS.c.id == sa.bindparam("row_id"))
                 .values(first_completed_at=sa.bindparam("first"), completed_at=sa.bindparam("again")))
    for start in range(0, len(changed), CHUNK):
        connection.execute(statement, changed[start:start + CHUNK])


def downgrade() -> None:
    """The seconds cut off are not kept anywhere: nothing to restore."""
