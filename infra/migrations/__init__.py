"""Alembic migrations, one linear history per room (several heads are applied together)."""
