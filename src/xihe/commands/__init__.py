"""Command modules of the ``xihe`` CLI, each with ``register(app)``; :mod:`xihe.cli` assembles them."""
