"""Persistence: SQLAlchemy models, sessions, Alembic migrations and the content-addressed document folder."""
