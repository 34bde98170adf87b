"""Alembic migrations of leadloop's database (see `state.migrate`)."""
