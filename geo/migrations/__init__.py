"""Alembic migrations for the platform's schema (run with ``dualimpact db upgrade``)."""
