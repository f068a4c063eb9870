"""Operator commands: serve (until the service lands, a Bell-circuit demo)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve() -> None:
        """Start the platform (until the service lands: a Bell-circuit demo)."""
        import numpy as np

        from xihe import Circuit
        from xihe.circuit.protocols import unitary
        from xihe.circuit.standard_gates import embed

        qc = Circuit(2, 2).h(0).cx(0, 1)
        state = np.zeros(4, dtype=complex)
        state[0] = 1
        for op in qc:
            state = embed(unitary(op.gate), op.qubits, 2) @ state
        typer.echo(repr(qc))
        for i, amp in enumerate(state):
            typer.echo(f"|{i:02b}>: p = {abs(amp) ** 2:.3f}")
