"""The ``xihe`` command line: one typer app assembled from the command modules in :mod:`xihe.commands`.

Operator commands (``serve``, ``worker``, ``users``, ``db``) act on the local settings' database; user commands
(``login``, ``backends``, ``run``, ``estimate``, ``jobs``, ``job``, ``cancel``) act over HTTP through the client.
Each module imports its heavy dependencies inside the command functions, so ``xihe --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="Xihe: a self-hostable quantum computing cloud.", no_args_is_help=True)



@app.callback()
def _root() -> None:
    """Xihe: a self-hostable quantum computing cloud."""


# Each module defines register(app: typer.Typer) -> None.
COMMAND_MODULES = ("operator", "user", "estimate", "agent", "characterize")


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"xihe.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"xihe.commands.{name}":
                continue  # that layer has not landed yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    app()
