"""Alembic revisions, one file each, applied in order by `state.migrate.upgrade`."""
