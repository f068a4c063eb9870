"""``xihe characterize BACKEND --suite standard``: run a characterization suite locally on a backend's device object.

The suite runs in this process on :func:`xihe.devices.get` ``(BACKEND)`` (the emulator behind a twin, or the
simulator), prints the headline figures and each experiment's estimates with 95% intervals, and with ``--output``
writes ``suite.json`` (the stored form the service and dashboard read) and one SVG figure per experiment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

_SUMMARY_LABELS = {
    "t1_us": ("T1 (median)", "µs"), "t2_ramsey_us": ("T2* Ramsey (median)", "µs"),
    "t2_echo_us": ("T2 echo (median)", "µs"), "readout_error": ("readout error (median)", ""),
    "epg_1q": ("1q error per gate (median, RB)", ""), "epc_2q": ("2q error per Clifford (RB)", ""),
    "gate_error_2q": ("2q gate error (interleaved RB)", ""),
    "xeb_pauli_error_per_cycle": ("XEB Pauli error per cycle", ""), "quantum_volume": ("quantum volume", ""),
}


def _parse_qubits(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(q) for q in text.split(",") if q.strip()]
    except ValueError:
        raise typer.BadParameter(f"--qubits takes comma-separated integers, not {text!r}") from None


def register(app: typer.Typer) -> None:
    @app.command()
    def characterize(
        backend: Annotated[str, typer.Argument(help="Backend name (xihe.devices.names()).")],
        suite: Annotated[str, typer.Option(help="standard | quick | full")] = "standard",
        seed: Annotated[int, typer.Option(help="Seed for circuits and sampling.")] = 1,
        shots: Annotated[int, typer.Option(help="Shots per circuit.")] = 1000,
        qubits: Annotated[str | None, typer.Option(help="Physical qubits, e.g. 1,2,3,4 (a coupled path); "
                                                        "default: the best region.")] = None,
        region_size: Annotated[int, typer.Option(help="Qubits in the automatic region.")] = 4,
        output: Annotated[Path | None, typer.Option(help="Folder for suite.json and SVG figures.")] = None,
    ) -> None:
        """Run a characterization suite on BACKEND and print its figures (95% confidence intervals)."""
        from rich.console import Console
        from rich.table import Table

        from xihe import devices
        from xihe.characterize.suite import SUITES, run_suite
        from xihe.errors import XiheError

        console = Console(highlight=False)
        if suite not in SUITES:
            raise typer.BadParameter(f"--suite must be one of {', '.join(SUITES)}")
        try:
            device = devices.get(backend)
            with console.status(f"characterizing {backend}") as status:
                result = run_suite(device, suite, seed=seed, shots=shots, qubits=_parse_qubits(qubits),
                                   region_size=region_size,
                                   progress=lambda name: status.update(f"{backend}: {name}"))
        except XiheError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        console.print(f"[bold]{backend}[/bold] suite {suite}, qubits {result.qubits}, seed {seed}, shots {shots}")
        for note in result.notes:
            console.print(f"  note: {note}")
        headline = Table("figure", "value")
        for key, (label, unit) in _SUMMARY_LABELS.items():
            if key in result.summary:
                value = result.summary[key]
                headline.add_row(label, f"{value:.4g} {unit}".strip() if isinstance(value, float) else str(value))
        console.print(headline)
        detail = Table("experiment", "estimate", "value ± stderr", "95% CI")
        for r in result.results:
            for name, est in r.estimates.items():
                detail.add_row(r.experiment, name, f"{est.value:.4g} ± {est.stderr:.2g} {est.unit}".strip(),
                               f"[{est.ci_low:.4g}, {est.ci_high:.4g}]")
            if r.experiment == "quantum_volume":
                detail.add_row("", f"n={r.metadata['n']}", "passed" if r.metadata["passed"] else "failed",
                               f"confidence {r.metadata['confidence']:.3f}")
        console.print(detail)
        for label, message in result.errors.items():
            console.print(f"[yellow]{label}: no fit ({message})[/yellow]")
        if output is not None:
            from xihe.characterize.plots import save_suite_figures

            output.mkdir(parents=True, exist_ok=True)
            (output / "suite.json").write_text(json.dumps(result.to_dict(), indent=1))
            paths = save_suite_figures(result, output)
            console.print(f"wrote {output / 'suite.json'} and {len(paths)} figures")
