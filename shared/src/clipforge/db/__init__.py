"""Postgres: the schema (as SQLAlchemy models), the engine, and the Alembic migrations."""
