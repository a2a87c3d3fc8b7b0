"""Alembic environment of the store; `triagebot.store.schema` runs it from code (there is no alembic.ini)."""
