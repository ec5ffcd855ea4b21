"""The JSON API's tokens.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table("api_token",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=64), nullable=False),
    sa.Column("token_sha256", sa.String(length=64), nullable=False),
    sa.Column("prefix", sa.String(length=12), nullable=False),
    sa.Column("can_write", sa.Boolean(), nullable=False),
    sa.Column("departments", sa.JSON(), nullable=True),
    sa.Column("created_by", sa.String(length=128), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("last_used_at", sa.DateTime(), nullable=True),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("name"),
    sa.UniqueConstraint("token_sha256")
    )


def downgrade() -> None:
    op.drop_table("api_token")
