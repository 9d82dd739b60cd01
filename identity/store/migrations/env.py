"""Alembic's environment: always run from `identity.store.migrate` with an open connection (never a URL here)."""

from __future__ import annotations

from alembic import context

from identity.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
