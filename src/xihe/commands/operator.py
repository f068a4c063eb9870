"""Operator commands, acting on the local settings' database: serve, worker, users, db.

Each builds one :class:`~xihe.service.settings.Settings` (``XIHE_*`` environment plus the command's options) and
imports the service inside the function, so ``xihe --help`` stays fast.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from xihe.limits import user_limit_problem

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from xihe.service.db import Database
    from xihe.service.models import User
    from xihe.service.repositories.users import IssuedToken
    from xihe.service.settings import Settings

DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (else XIHE_DATA_DIR).")]


def _settings(**overrides: Any) -> Settings:
    from xihe.service.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _database(settings: Settings) -> Database:
    """The settings' database; the command fails with one line when its server cannot be reached."""
    from xihe.service.bootstrap import unreachable_database
    from xihe.service.db import Database

    problem = unreachable_database(settings)
    if problem:
        _fail(problem)
    return Database.from_settings(settings)


def _existing_database(settings: Settings) -> Database:
    """The settings' database; the command fails with one line when there is none (it never creates one)."""
    from xihe.service.bootstrap import missing_database

    problem = missing_database(settings)
    if problem:
        _fail(problem)
    return _database(settings)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _existing_user(session: Session, name: str) -> User:
    """The user called ``name``; the command fails with ``no user 'NAME'`` when there is none."""
    from xihe.service.repositories import users

    user = users.get_user_by_name(session, name)
    if user is None:
        _fail(f"no user {name!r}")
    return user


def _issue_cli_token(session: Session, user: User, expires_days: float | None) -> IssuedToken:
    """A new token named ``cli`` for ``user``, expiring after ``expires_days`` days (never when unset or 0)."""
    from datetime import timedelta

    from xihe.service.clock import utcnow
    from xihe.service.repositories import users

    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    return users.create_token(session, user, name="cli", expires_at=expires)


def _read_password(value: str | None, prompt: bool) -> str | None:
    if value is not None:
        return value
    if prompt:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return None


def serve_command(settings: Settings, *, workers: bool) -> None:
    """Migrate (embedded default), bootstrap, start local workers, run the API until interrupted."""
    import uvicorn

    from xihe.app import create_app
    from xihe.service.bootstrap import check_schema, ensure_demo_user, port_problem
    from xihe.service.catalog import DeviceCatalog
    from xihe.service.migrate import upgrade
    from xihe.service.supervisor import WorkerSupervisor
    from xihe.service.worker import record_calibrations

    busy = port_problem(settings.host, settings.port)  # before anything is migrated, created or announced
    if busy:
        _fail(busy)
    database = _database(settings)
    if settings.is_embedded:
        upgrade(database)
    else:
        problem = check_schema(database)
        if problem:
            _fail(problem)
    demo = ensure_demo_user(database, settings)
    if demo is not None:
        typer.echo(f"Created the demo user {demo.name!r} (admin). Shown once, keep them:")
        typer.echo(f"  password: {demo.password}")
        typer.echo(f"  token:    {demo.token}")
    catalog = DeviceCatalog()
    try:
        record_calibrations(database, catalog, catalog.names())
    except Exception as exc:  # a broken chip file must not keep the platform down
        typer.echo(f"warning: could not record calibrations: {exc}", err=True)
    supervisor = None
    if workers and settings.resolved_workers() > 0:
        supervisor = WorkerSupervisor(settings, settings.resolved_workers(), backends=settings.worker_backends)
        supervisor.start()
    from xihe.service.characterization import CharacterizationScheduler

    scheduler = CharacterizationScheduler(settings, database, catalog).start()  # no-op unless enabled
    app = create_app(settings, database=database, catalog=catalog)
    typer.echo(f"Xihe on http://{settings.host}:{settings.port} (API /api/v1, docs /docs); "
               f"database {database.dialect}; {supervisor.processes if supervisor else 0} worker process(es)")
    # Everything loaded so far (modules, catalog, app) lives as long as the process: out of the collector's sight, a
    # submit's garbage collections traverse only what requests allocate (a verbatim 86,000-gate submit's
    # collections held the GIL, and so every answer of the process, /health's too, twice as long; issue 18).
    gc.collect()
    gc.freeze()
    try:
        # proxy_headers off: the app applies the ``trusted_proxies`` setting itself (one rule, see create_app).
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                    proxy_headers=False)
    finally:
        scheduler.stop()
        if supervisor is not None:
            supervisor.stop()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Bind address (else XIHE_HOST, 127.0.0.1).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (else XIHE_PORT, 8000).")] = None,
        data_dir: DataDirOption = None,
        no_workers: Annotated[bool, typer.Option("--no-workers", help="API only (replicas behind a balancer).")]
        = False,
        workers: Annotated[int | None, typer.Option(help="Local worker processes (default: one per core).")] = None,
    ) -> None:
        """Start the platform: API, web pages, and local workers (on SQLite it also migrates the database)."""
        serve_command(_settings(host=host, port=port, data_dir=data_dir, workers=workers), workers=not no_workers)

    @app.command()
    def worker(
        backends: Annotated[list[str] | None, typer.Option(
            "--backends", help="Serve only these backends (comma-separated or repeated).")] = None,
        processes: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Run worker processes against the settings' database (XIHE_DATABASE_URL) until interrupted."""
        from xihe.service.bootstrap import check_schema
        from xihe.service.supervisor import WorkerSupervisor

        settings = _settings(data_dir=data_dir)
        if backends:
            backends = [name.strip() for value in backends for name in value.split(",") if name.strip()]
            from xihe.service.catalog import DeviceCatalog

            unknown = sorted(set(backends) - set(DeviceCatalog().names()))
            if unknown:
                _fail(f"unknown backend(s) {', '.join(unknown)}")
        problem = check_schema(_existing_database(settings))
        if problem:
            _fail(problem)
        supervisor = WorkerSupervisor(settings, processes or settings.resolved_workers(), backends=backends)
        supervisor.start()
        typer.echo(f"{supervisor.processes} worker process(es) on {settings.resolved_database_url().split('@')[-1]}")
        try:
            supervisor.wait()
        except KeyboardInterrupt:
            pass
        finally:
            supervisor.stop()

    users_app = typer.Typer(help="Manage user accounts and their API tokens (local database).", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @users_app.command("add")
    def users_add(
        name: str,
        admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
        password: Annotated[bool, typer.Option("--password", help="Prompt for a web login password.")] = False,
        password_value: Annotated[str | None, typer.Option("--password-value", hidden=True)] = None,
        expires_days: Annotated[float | None, typer.Option(help="The token expires after this many days.")] = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Create a user and print a new API token (shown once)."""
        from xihe.service.repositories import users

        database = _existing_database(_settings(data_dir=data_dir))
        secret = _read_password(password_value, password)
        with database.write() as session:
            if users.get_user_by_name(session, name) is not None:
                _fail(f"user {name!r} exists")
            user = users.create_user(session, name, role="admin" if admin else "user", password=secret)
            issued = _issue_cli_token(session, user, expires_days)
        typer.echo(issued.secret)

    @users_app.command("token")
    def users_token(
        name: str,
        expires_days: Annotated[float | None, typer.Option(help="The token expires after this many days.")] = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Issue another API token for a user (shown once)."""
        database = _existing_database(_settings(data_dir=data_dir))
        with database.write() as session:
            issued = _issue_cli_token(session, _existing_user(session, name), expires_days)
        typer.echo(issued.secret)

    @users_app.command("passwd")
    def users_passwd(name: str, password_value: Annotated[str | None, typer.Option("--password-value", hidden=True)]
                     = None, data_dir: DataDirOption = None) -> None:
        """Set a user's web login password (prompted)."""
        from xihe.service.repositories import users

        database = _existing_database(_settings(data_dir=data_dir))
        secret = _read_password(password_value, True)
        with database.write() as session:
            user = _existing_user(session, name)
            users.set_password(session, user, secret or "")
        typer.echo(f"password of {name} changed")

    @users_app.command("list")
    def users_list(data_dir: DataDirOption = None) -> None:
        """Users with role and active tokens."""
        from rich.console import Console
        from rich.table import Table

        from xihe.service.repositories import users

        database = _existing_database(_settings(data_dir=data_dir))
        table = Table("name", "role", "created", "active tokens", "password")
        with database.read() as session:
            for user in users.list_users(session):
                tokens = [t for t in users.list_tokens(session, user.id) if t.revoked_at is None]
                table.add_row(user.name, user.role, user.created_at.strftime("%Y-%m-%d %H:%M"), str(len(tokens)),
                              "set" if user.password_hash else "-")
        Console().print(table)

    @users_app.command("revoke-token")
    def users_revoke(
        name: str,
        token_id: Annotated[str | None, typer.Option("--id", help="Revoke only this token id.")] = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Revoke a user's tokens (all of them, or one by id)."""
        from xihe.service.repositories import users

        database = _existing_database(_settings(data_dir=data_dir))
        with database.write() as session:
            user = _existing_user(session, name)
            if token_id:
                if not users.revoke_token(session, user.id, token_id):
                    _fail(f"{name} has no token {token_id!r}")
                count = 1
            else:
                count = users.revoke_all_tokens(session, user.id)
        typer.echo(f"revoked {count} token(s) of {name}")

    @users_app.command("limits")
    def users_limits(
        name: str,
        jobs_per_day: Annotated[int | None, typer.Option(help="Jobs per 24 h (a batch counts once).")] = None,
        max_shots: Annotated[int | None, typer.Option(help="Shots per job.")] = None,
        max_qubits: Annotated[int | None, typer.Option(help="Qubits per circuit.")] = None,
        max_priority: Annotated[int | None, typer.Option(help="Highest priority honoured.")] = None,
        wall_seconds: Annotated[float | None, typer.Option(help="Wall-time limit per job.")] = None,
        rate_limit: Annotated[float | None, typer.Option(help="API requests per second.")] = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Set a user's quotas and limits (unset ones keep the settings' defaults); without one, show them."""

        given = {field: value for field, value in (
            ("jobs_per_day", jobs_per_day), ("max_shots", max_shots), ("max_qubits", max_qubits),
            ("max_priority", max_priority), ("wall_seconds", wall_seconds), ("rate_limit_per_second", rate_limit))
            if value is not None}
        for field, value in given.items():  # the admin page's rule: finite, not negative, what the column holds
            if (problem := user_limit_problem(field, value)) is not None:
                typer.echo(f"error: {problem}", err=True)
                raise typer.Exit(1)
        settings = _settings(data_dir=data_dir)
        database = _existing_database(settings)
        if not given:  # it said 'limits of NAME updated', changing nothing; no command showed a user's limits
            with database.read() as session:
                user = _existing_user(session, name)
                for field, default in settings.user_limit_defaults().items():
                    own = getattr(user, field)
                    shown = own if own is not None else f"{'no limit' if default is None else default} (default)"
                    option = "rate-limit" if field == "rate_limit_per_second" else field.replace("_", "-")
                    typer.echo(f"--{option}: {shown}")
            return
        with database.write() as session:
            user = _existing_user(session, name)
            for field, value in given.items():
                setattr(user, field, value)
        typer.echo(f"limits of {name} updated")

    db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def db_upgrade(revision: str = "head", data_dir: DataDirOption = None) -> None:
        """Run the migrations up to REVISION (default: the latest). Run once per deployment, not per replica."""
        from xihe.service.migrate import current_revision, upgrade

        database = _database(_settings(data_dir=data_dir))  # creating the schema is this command's job
        upgrade(database, revision)
        typer.echo(f"database at revision {current_revision(database)}")

    @db_app.command("current")
    def db_current(data_dir: DataDirOption = None) -> None:
        """Print the database's schema revision."""
        from xihe.service.migrate import current_revision

        typer.echo(current_revision(_existing_database(_settings(data_dir=data_dir))) or "(empty)")
