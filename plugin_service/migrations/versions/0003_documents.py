"""Documents: batches of certificates and archives, and the certificates of study hours as issued.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("document_batch",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("tier_key", sa.String(length=64), nullable=True),
    sa.Column("lang", sa.String(length=8), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("actor", sa.String(length=128), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.Column("total", sa.Integer(), nullable=False),
    sa.Column("done", sa.Integer(), nullable=False),
    sa.Column("zip_path", sa.String(length=500), nullable=False),
    sa.Column("seconds", sa.Double(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("summary", sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("document_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_batch_year"), ["year"], unique=False)

    op.create_table("certificate",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("serial", sa.String(length=32), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("employee_no", sa.String(length=32), nullable=False),
    sa.Column("lang", sa.String(length=8), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("data_sha256", sa.String(length=64), nullable=False),
    sa.Column("pdf_path", sa.String(length=500), nullable=False),
    sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
    sa.Column("pdf_size", sa.Integer(), nullable=True),
    sa.Column("issued_at", sa.DateTime(), nullable=False),
    sa.Column("issued_by", sa.String(length=128), nullable=False),
    sa.Column("override_reason", sa.Text(), nullable=True),
    sa.Column("batch_id", sa.Integer(), nullable=True),
    sa.Column("superseded_by", sa.Integer(), nullable=True),
    sa.Column("superseded_at", sa.DateTime(), nullable=True),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
    sa.Column("revoked_by", sa.String(length=128), nullable=True),
    sa.Column("revoked_reason", sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(["batch_id"], ["document_batch.id"]),
    sa.ForeignKeyConstraint(["superseded_by"], ["certificate.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("serial"),
    sa.UniqueConstraint("year", "employee_no", "lang", "version")
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index("ix_certificate_year_cadre", ["year", "employee_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_status"))
        batch_op.drop_index("ix_certificate_year_cadre")

    op.drop_table("certificate")
    with op.batch_alter_table("document_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_batch_year"))

    op.drop_table("document_batch")
