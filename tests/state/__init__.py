"""Tests for the state package: persistence on SQLite, and on PostgreSQL when available."""
