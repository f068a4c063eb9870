"""``xihe estimate``: expectation values of Pauli observables for an OpenQASM file, as one Estimator job.

Observables are given as ``-o "ZZ:1.0,XI:0.5"`` (labels in Qiskit's ``SparsePauliOp`` order, qubit 0 rightmost;
a label alone has coefficient 1), parameter bindings as ``--bind "a=0.1,b=0.2"`` (one per PUB element). The answer
is printed as a table of value and standard error per binding and observable, or as JSON with ``--json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from xihe.commands.user import TokenOption, UrlOption, _client, _console, _reports_api_errors

if TYPE_CHECKING:
    from rich.table import Table

    from xihe.client import PubEstimate


def parse_observable(text: str) -> dict[str, float]:
    """``"ZZ:1.0,XI:-0.5"`` -> ``{"ZZ": 1.0, "XI": -0.5}`` (a label alone has coefficient 1).

    >>> parse_observable("ZZ, XI:-0.5")
    {'ZZ': 1.0, 'XI': -0.5}
    """
    out: dict[str, float] = {}
    for part in text.split(","):
        label, _, coefficient = part.strip().partition(":")
        if not label:
            raise typer.BadParameter(f"'{text}': each term is LABEL or LABEL:COEFFICIENT, comma separated")
        try:
            out[label] = out.get(label, 0.0) + (float(coefficient) if coefficient else 1.0)
        except ValueError:
            raise typer.BadParameter(f"'{coefficient}' in '{text}' is not a number") from None
    return out


def parse_binding(text: str) -> dict[str, float]:
    """``"a=0.1,b=0.2"`` -> ``{"a": 0.1, "b": 0.2}``.

    >>> parse_binding("a=0.1, b=2")
    {'a': 0.1, 'b': 2.0}
    """
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"'{text}': a binding is NAME=VALUE, comma separated")
        try:
            out[name] = float(value)
        except ValueError:
            raise typer.BadParameter(f"'{value}' in '{text}' is not a number") from None
    return out


def _auto_or_count(text: str) -> int | str:
    """``"auto"`` or a positive count, as the twirling options take them.

    >>> _auto_or_count("auto"), _auto_or_count("16")
    ('auto', 16)
    """
    if text == "auto":
        return text
    if not text.isdigit() or int(text) < 1:
        raise typer.BadParameter(f"'{text}' is neither auto nor a positive whole number")
    return int(text)


def estimates_table(pub: PubEstimate, observables: list[str]) -> Table:
    from rich.table import Table

    kind = "exact" if pub.exact else f"{pub.shots} shots per measured circuit, {pub.groups} groups"
    table = Table(title=f"expectation values ({kind})", title_justify="left")
    table.add_column("binding", justify="right")
    table.add_column("observable")
    table.add_column("value", justify="right")
    table.add_column("std", justify="right")
    for i, (values, stds) in enumerate(zip(pub.values, pub.stds, strict=True)):
        for label, value, std in zip(observables, values, stds, strict=True):
            table.add_row(str(i), label, f"{value:.6f}", f"{std:.6f}")
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    @_reports_api_errors
    def estimate(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An OpenQASM 2 or 3 file.")],
        observable: Annotated[list[str], typer.Option(
            "--observable", "-o", help="LABEL[:COEFF],... in SparsePauliOp order (qubit 0 rightmost); repeatable.")],
        backend: Annotated[str, typer.Option("--backend", "-b", help="Backend name (see `xihe backends`).")] = "sim",
        bind: Annotated[list[str] | None, typer.Option(
            help="NAME=VALUE,... binding the file's parameters; repeatable (one PUB element each).")] = None,
        precision: Annotated[float, typer.Option(
            min=0.0, max=1.0, help="Target standard error; 0 gives exact values on ideal simulators.")] = 0.015625,
        seed: Annotated[int | None, typer.Option(help="Seed for compilation and sampling.")] = None,
        readout: Annotated[bool, typer.Option(help="Mitigate readout errors (twins, hardware).")] = False,
        readout_calibration: Annotated[str, typer.Option(
            help="calibrated: the device's calibration data; measured: two circuits in the same job; twirled: TREX "
                 "(twirled measurements, factors from a twirled |0...0>). measured or twirled implies --readout.")
        ] = "calibrated",
        randomizations: Annotated[str, typer.Option(
            help="Measurement twirls per measured circuit with twirled readout (a number, or auto).")] = "auto",
        shots_per_randomization: Annotated[str, typer.Option(
            help="Shots per twirl with twirled readout (a number, or auto).")] = "auto",
        zne: Annotated[str | None, typer.Option(
            help="Zero-noise extrapolation over these odd noise factors, e.g. 1,3,5.")] = None,
        timeout: Annotated[float | None, typer.Option(help="Give up waiting after this many seconds.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
        url: UrlOption = None,
        token: TokenOption = None,
    ) -> None:
        """Estimate Pauli observables on an OpenQASM file's final state (one job) and print values and stds."""
        from xihe.client import Mitigation

        observables = [parse_observable(text) for text in observable]
        bindings = [parse_binding(text) for text in bind] if bind else None
        factors = tuple(int(f) for f in zne.split(",")) if zne else None
        readout = readout or readout_calibration != "calibrated"
        mitigation = Mitigation(readout=readout, zne_factors=factors, readout_calibration=readout_calibration,
                                num_randomizations=_auto_or_count(randomizations),
                                shots_per_randomization=_auto_or_count(shots_per_randomization)) \
            if readout or factors else None
        with _client(url, token) as client:
            job = client.estimate(file, observables, backend=backend, parameter_values=bindings,
                                  precision=precision, seed=seed, name=file.stem, mitigation=mitigation)
            _console(stderr=True).print(f"submitted job [bold]{job.id}[/bold] to {backend}")
            [pub] = job.estimates(timeout=timeout, progress=not as_json)
        if as_json:
            typer.echo(json.dumps({"id": job.id, "backend": backend, "label_order": "qubit0_rightmost",
                                   "observables": observables, "values": pub.values, "stds": pub.stds,
                                   "shots": pub.shots, "exact": pub.exact, "readout_mitigated": pub.readout_mitigated,
                                   "measure_twirling": pub.measure_twirling, "trex_factors": pub.trex_factors,
                                   "noise_factors": pub.noise_factors, "measured_circuits": job.info.num_circuits},
                                  indent=2))
            return
        _console().print(estimates_table(pub, observable))
