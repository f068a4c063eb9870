"""Alembic migrations of the service's database; :mod:`xihe.service.migrate` runs them (``xihe db upgrade``)."""
