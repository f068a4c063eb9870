"""User commands of the ``xihe`` CLI, over HTTP through :mod:`xihe.client`: login, backends, run, jobs, job, cancel.

Every command takes ``--url``/``--token`` (else ``XIHE_URL``/``XIHE_TOKEN``, else ``~/.xihe/config.toml``). A
server error is printed as its one-line detail with exit status 1, never as a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from xihe.limits import MAX_PAGE_SIZE, MIN_SHOTS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from xihe.client import Client, JobInfo
    from xihe.results import Result

UrlOption = Annotated[str | None, typer.Option("--url", help="Server URL (else XIHE_URL or ~/.xihe/config.toml).")]
TokenOption = Annotated[str | None, typer.Option("--token", help="API token (else XIHE_TOKEN or the config file).")]

F = TypeVar("F", bound=Callable[..., Any])

FINISHED = frozenset({"DONE", "FAILED"})  # states a cancel cannot change
HISTOGRAM_ROWS = 16
HISTOGRAM_WIDTH = 40


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _client(url: str | None, token: str | None) -> Client:
    from xihe.client import Client

    return Client(url, token)


def _reports_api_errors(command: F) -> F:
    """Turn a server or connection error (or a program file that cannot be read) into a one-line message and exit
    status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from xihe.client import APIError
        from xihe.qasm.errors import QasmError

        try:
            return command(*args, **kwargs)
        except (APIError, QasmError) as exc:
            from rich.text import Text

            _console(stderr=True).print(Text(f"error: {exc}", style="red"))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _dd_choice(value: str | None) -> str | None:
    """``--dd``'s value checked here (XY4, CPMG or none, any case), so a typo is a usage error before any request."""
    if value is not None and value.upper() not in ("XY4", "CPMG", "NONE"):
        raise typer.BadParameter(f"'{value}' is not one of XY4, CPMG, none")
    return value


def histogram(
    counts: Mapping[str, int], shots: int | None = None, rows: int = HISTOGRAM_ROWS, width: int = HISTOGRAM_WIDTH
) -> Table:
    """A terminal bar chart of the most frequent outcomes (bit order: c[0] leftmost), bars ``width`` cells long."""
    from rich.table import Table

    total = shots or sum(counts.values()) or 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = sorted(ranked[:rows])
    peak = max((n for _, n in shown), default=1)
    shots_seen, outcomes = sum(counts.values()), len(counts)
    title = f"{shots_seen} shot{'' if shots_seen == 1 else 's'}, {outcomes} outcome{'' if outcomes == 1 else 's'}"
    table = Table(title=title, title_justify="left")
    table.add_column("outcome (c0 leftmost)", style="bold")
    table.add_column("count", justify="right")
    table.add_column("prob", justify="right")
    table.add_column("", no_wrap=True)
    for outcome, n in shown:
        bar = "█" * max(1, round(width * n / peak)) if n else ""
        table.add_row(outcome, str(n), f"{n / total:.3f}", f"[cyan]{bar}[/cyan]")
    if len(ranked) > rows:
        rest = sum(n for _, n in ranked[rows:])
        table.add_row(f"... {len(ranked) - rows} more", str(rest), f"{rest / total:.3f}", "")
    return table


def _job_table(info: JobInfo) -> Table:
    from rich.table import Table

    from xihe.client.progress import describe

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, Any]] = [
        ("id", info.id),
        ("status", describe(info)),
        ("backend", info.backend),
        ("kind", f"{info.kind} ({info.num_circuits} circuit{'s' if info.num_circuits != 1 else ''})"),
        ("shots", info.shots),
        ("name", info.name or ""),
        ("tags", ", ".join(info.tags)),
        ("created", info.created_at.isoformat(timespec="seconds") if info.created_at else ""),
        ("started", info.started_at.isoformat(timespec="seconds") if info.started_at else ""),
        ("finished", info.finished_at.isoformat(timespec="seconds") if info.finished_at else ""),
    ]
    for key, value in rows:
        table.add_row(key, str(value))
    return table


def _show_results(console: Console, results: Result | list[Result]) -> None:
    items = results if isinstance(results, list) else [results]
    for index, result in enumerate(items):
        if len(items) > 1:
            console.print(f"[bold]circuit {index}[/bold]")
        key_width = max((len(k) for k in result.counts), default=1)
        bar_width = max(8, min(HISTOGRAM_WIDTH, console.width - max(key_width, 21) - 30))
        console.print(histogram(result.counts, result.shots, width=bar_width))


def register(app: typer.Typer) -> None:
    @app.command()
    @_reports_api_errors
    def login(
        url: Annotated[str, typer.Option("--url", prompt="Server URL", help="The Xihe server's URL.")],
        token: Annotated[str, typer.Option("--token", prompt="API token", hide_input=True, help="Your API token.")],
        verify: Annotated[bool, typer.Option(help="Check the token against the server first.")] = True,
    ) -> None:
        """Store the server URL and an API token in ~/.xihe/config.toml for later commands."""
        from xihe.client import Client, write_config_file
        from xihe.client.config import server_url

        if verify:
            with Client(url, token) as client:
                client.jobs(limit=1)  # an authenticated call: a bad token fails here, not later
        path = write_config_file(server_url(url), token)
        _console().print(f"Logged in to {url}; settings saved in {path}")

    @app.command()
    @_reports_api_errors
    def backends(
        url: UrlOption = None,
        token: TokenOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List the backends with their size and status.

        qubits (conn/work/all): the largest connected group of working qubits, the working qubits, all qubits.
        """
        from rich import box
        from rich.table import Table

        with _client(url, token) as client:
            found = client.backends()
        if as_json:
            typer.echo(json.dumps([b.raw for b in found], indent=2, default=str))
            return
        # Light rules and two-space gaps, so 80 columns show every name, kind and size whole (only gates wrap).
        table = Table(title="Backends", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_edge=False)
        # qubits: the largest connected group of working qubits / working qubits / all qubits
        for column in ("name", "kind", "qubits\nconn/work/all", "status", "queued", "system_id"):
            table.add_column(column, no_wrap=True)
        table.add_column("native gates")
        colours = {"online": "green", "maintenance": "yellow", "offline": "red"}
        for b in found:
            status = f"[{colours.get(b.status, 'white')}]{b.status}[/]"
            system_id = "" if b.system_id is None else str(b.system_id)
            queued = "" if b.queue_length is None else str(b.queue_length)
            gates = " ".join(b.native_gates) if len(b.native_gates) <= 12 else f"{len(b.native_gates)} gates"
            qubits = f"{b.max_connected_qubits}/{b.num_working_qubits}/{b.num_qubits}"
            table.add_row(b.name, b.kind, qubits, status, queued, system_id, gates)
        _console().print(table)

    @app.command()
    @_reports_api_errors
    def run(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An OpenQASM 2 file (its includes "
                                             "are read next to it and sent expanded).")],
        backend: Annotated[str, typer.Option("--backend", "-b", help="Backend name (see `xihe backends`).")] = "sim",
        shots: Annotated[int, typer.Option("--shots", "-s", min=MIN_SHOTS)] = 1024,
        seed: Annotated[int | None, typer.Option(help="Seed for compilation and sampling.")] = None,
        compile_circuit: Annotated[
            bool, typer.Option("--compile/--verbatim", help="Compile for the backend, or run as written.")
        ] = True,
        optimization_level: Annotated[int, typer.Option("--optimization-level", "-O", min=0, max=3)] = 2,
        name: Annotated[str | None, typer.Option(help="A name for the job.")] = None,
        tag: Annotated[list[str] | None, typer.Option(help="A tag (repeatable).")] = None,
        dd: Annotated[str | None, typer.Option(
            "--dd", callback=_dd_choice, help="Dynamical decoupling in idle windows on twins: XY4, CPMG or none.")
        ] = None,
        wait: Annotated[bool, typer.Option(help="Wait for the result and show it.")] = True,
        timeout: Annotated[float | None, typer.Option(help="Give up waiting after this many seconds.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the finished job as JSON.")] = False,
        url: UrlOption = None,
        token: TokenOption = None,
    ) -> None:
        """Submit an OpenQASM file, follow its progress, and show the outcome histogram."""
        console = _console()
        with _client(url, token) as client:
            job = client.run(
                file,
                backend=backend,
                shots=shots,
                seed=seed,
                compile=compile_circuit,
                optimization_level=optimization_level,
                name=name or file.stem,
                tags=tuple(tag or ()),
                dynamical_decoupling=dd,
            )
            _console(stderr=True).print(f"submitted job [bold]{job.id}[/bold] to {backend}")
            if not wait:
                typer.echo(job.id)
                return
            try:
                info = job.wait(timeout=timeout, progress=True)
            except KeyboardInterrupt:
                _console(stderr=True).print(f"stopped waiting; the job goes on: xihe job {job.id}")
                raise typer.Exit(130) from None
            if as_json:
                if info.status == "DONE":
                    job.result()  # make sure the record carries the result body
                typer.echo(json.dumps(job.info.raw, indent=2, default=str))
                if info.status != "DONE":
                    raise typer.Exit(1)  # a script reading the JSON learns from the exit status that it failed
                return
            if info.status != "DONE":
                console.print(_job_table(info))
                raise typer.Exit(1)
            _show_results(console, job.result())

    @app.command()
    @_reports_api_errors
    def jobs(
        status: Annotated[str | None, typer.Option(help="QUEUED, RUNNING, DONE, FAILED or CANCELLED.")] = None,
        backend: Annotated[str | None, typer.Option(help="Only jobs on this backend.")] = None,
        tag: Annotated[str | None, typer.Option(help="Only jobs with this tag.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE_SIZE, help="Jobs per page.")] = 20,
        offset: Annotated[int, typer.Option(min=0)] = 0,
        url: UrlOption = None,
        token: TokenOption = None,
    ) -> None:
        """List your jobs, newest first."""
        from rich import box
        from rich.table import Table

        from xihe.client.progress import describe

        with _client(url, token) as client:
            page = client.jobs(status=status, backend=backend, tag=tag, limit=limit, offset=offset)
        # Light rules as in `xihe backends`; ids and times never cut (an id cut to "edecfef8d49b0…" is one `xihe
        # job` cannot find, at 80 columns it was), status and name wrap instead.
        table = Table(title=f"Jobs {page.offset + 1}-{page.offset + len(page)} of {page.total}",
                      box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_edge=False)
        table.add_column("id", no_wrap=True, min_width=max((len(job.id) for job in page), default=2))
        table.add_column("status")
        for column in ("backend", "shots"):
            table.add_column(column, no_wrap=True)
        table.add_column("name")
        table.add_column("created (UTC)", no_wrap=True)
        for job in page:
            info = job.info
            created = info.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if info.created_at else ""
            table.add_row(info.id, describe(info), info.backend, str(info.shots), info.name or "", created)
        _console().print(table)

    @app.command()
    @_reports_api_errors
    def job(
        job_id: Annotated[str, typer.Argument(help="The job's id.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the job record as JSON.")] = False,
        url: UrlOption = None,
        token: TokenOption = None,
    ) -> None:
        """Show one job, with its histogram when it is done."""
        with _client(url, token) as client:
            handle = client.job(job_id)
            if as_json:
                typer.echo(json.dumps(handle.info.raw, indent=2, default=str))
                return
            console = _console()
            console.print(_job_table(handle.info))
            if handle.info.status == "DONE":
                _show_results(console, handle.result())

    @app.command()
    @_reports_api_errors
    def cancel(
        job_id: Annotated[str, typer.Argument(help="The job's id.")],
        url: UrlOption = None,
        token: TokenOption = None,
    ) -> None:
        """Cancel a queued or running job.

        Exit status 0 when the job is now cancelled (or was already); 1 when it had already finished (DONE or
        FAILED), with the message "job ID: already DONE; nothing to cancel".
        """
        from xihe.client.progress import describe

        with _client(url, token) as client:
            handle = client.job(job_id)
            if handle.info.status in FINISHED:
                _console(stderr=True).print(f"job {handle.info.id}: already {handle.info.status}; nothing to cancel")
                raise typer.Exit(1)
            info = handle.cancel()
        if info.status in FINISHED:  # it finished between the look and the cancel
            _console(stderr=True).print(f"job {info.id}: already {info.status}; nothing to cancel")
            raise typer.Exit(1)
        _console().print(f"job {info.id}: {describe(info)}")
