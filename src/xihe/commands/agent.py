"""``xihe agent``: serve one device from its control computer; ``xihe agent-token``: issue its device token.

``agent`` talks only HTTP (a device token, scoped to one device); ``agent-token`` is an operator command on the
local settings' database, like ``xihe users`` (an admin can also ``POST /api/v1/agents/tokens``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def agent(
        device: Annotated[str, typer.Option("--device", help="The device this agent serves (e.g. line10).")],
        url: Annotated[str, typer.Option("--url", help="The platform's base URL (e.g. https://xihe.example).")]
        = "http://127.0.0.1:8000",
        token: Annotated[str | None, typer.Option("--token", help="Device token (else XIHE_AGENT_TOKEN).")] = None,
        driver: Annotated[str, typer.Option("--driver", help="'emulator' (the twin) or 'package.module:factory'.")]
        = "emulator",
        name: Annotated[str | None, typer.Option("--name", help="This agent's name (default: host-pid).")] = None,
        poll: Annotated[float, typer.Option("--poll", help="Seconds between claims while idle.")] = 0.5,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds an HTTP request may take before it "
                                               "counts as an outage (then retried with backoff, forever).")] = 30.0,
        max_backoff: Annotated[float, typer.Option("--max-backoff", help="Longest wait between two tries while "
                                                   "the platform is unavailable.")] = 10.0,
    ) -> None:
        """Claim DEVICE's compiled jobs over HTTP, run them through the driver, post results and calibration."""
        import logging

        from xihe.errors import XiheError
        from xihe.service.agent import Agent, AgentClient
        from xihe.service.agent.drivers import load_driver

        secret = token or os.environ.get("XIHE_AGENT_TOKEN")
        if not secret:
            typer.echo("error: give a device token (--token or XIHE_AGENT_TOKEN)", err=True)
            raise typer.Exit(1)
        logging.basicConfig(level=os.environ.get("XIHE_LOG_LEVEL", "WARNING"),
                            format="%(asctime)s agent %(levelname)s %(message)s")
        try:
            the_driver = load_driver(driver, device)
        except XiheError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        client = AgentClient(url, secret, device, timeout=timeout, max_backoff=max_backoff)
        runner = Agent(client, the_driver, name=name or f"{socket.gethostname()}-{os.getpid()}",
                       driver_name=driver.rsplit(":", 1)[-1], poll_seconds=poll)
        typer.echo(f"agent {runner.name} serving {device} at {url} with the {driver} driver", err=True)
        try:
            runner.run_forever(max_backoff=max_backoff)
        except KeyboardInterrupt:
            pass
        except XiheError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        finally:
            client.close()

    @app.command("agent-token")
    def agent_token(
        device: Annotated[str, typer.Option("--device", help="The device the token may serve.")],
        expires_days: Annotated[float | None, typer.Option(help="The token expires after this many days.")] = None,
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data folder (else XIHE_DATA_DIR).")]
        = None,
    ) -> None:
        """Issue a device token for an agent (local database; shown once)."""
        from datetime import timedelta

        from xihe.service.bootstrap import missing_database
        from xihe.service.catalog import DeviceCatalog
        from xihe.service.clock import utcnow
        from xihe.service.cluster.agents import issue_device_token
        from xihe.service.db import Database
        from xihe.service.problems import Problem
        from xihe.service.settings import Settings

        settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
        problem = missing_database(settings)
        if problem:
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(1)
        database = Database.from_settings(settings)
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        try:
            with database.write() as session:
                issued = issue_device_token(session, DeviceCatalog(), device, expires_at=expires)
        except Problem as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(issued.secret)
