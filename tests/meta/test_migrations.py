"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL: a model
changed without its migration (or the reverse) fails here, not on a production upgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import plugin_service.models  # noqa: F401  (the models register their tables)
from plugin_service.db import Base, engine_for, upgrade


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    upgrade(database_url)
    engine = engine_for(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
