"""Alembic environment: the connection comes from ``plugin_service.db.upgrade`` (or the URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from plugin_service import models  # noqa: F401 - registers the tables
from plugin_service.db import Base

config = context.config
target_metadata = Base.metadata

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
