"""Calibration snapshots (kept as history, one row per backend and snapshot id) and backend status overrides."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xihe.devices import Device
from xihe.service.clock import utcnow
from xihe.service.models import BackendState, BackendStatusEvent, CalibrationSnapshotRow
from xihe.status import DeviceStatus


def record_snapshot(session: Session, backend: str, snapshot_id: str, version: str, time: datetime,
                    data: dict[str, Any]) -> CalibrationSnapshotRow:
    """Store a snapshot unless already stored (same backend and id); returns the stored row."""
    row = session.scalars(
        select(CalibrationSnapshotRow).where(CalibrationSnapshotRow.backend == backend,
                                             CalibrationSnapshotRow.snapshot_id == snapshot_id)
    ).first()
    if row is not None:
        return row
    row = CalibrationSnapshotRow(backend=backend, snapshot_id=snapshot_id, version=version, time=time, data=data,
                                 recorded_at=utcnow())
    session.add(row)
    session.flush()
    return row


def snapshot_at(session: Session, backend: str, at: datetime | None = None) -> CalibrationSnapshotRow | None:
    """The snapshot in force at ``at`` (the latest one taken at or before it); None: the latest of all."""
    query = select(CalibrationSnapshotRow).where(CalibrationSnapshotRow.backend == backend)
    if at is not None:
        query = query.where(CalibrationSnapshotRow.time <= at)
    return session.scalars(query.order_by(CalibrationSnapshotRow.time.desc(), CalibrationSnapshotRow.id.desc())).first()


def list_snapshots(session: Session, backend: str, limit: int = 100) -> list[CalibrationSnapshotRow]:
    query = (select(CalibrationSnapshotRow).where(CalibrationSnapshotRow.backend == backend)
             .order_by(CalibrationSnapshotRow.time.desc()).limit(limit))
    return list(session.scalars(query))


_OVERRIDES = select(BackendState.backend, BackendState.status)


def backend_status_overrides(session: Session) -> dict[str, str]:
    """Backends an operator set to maintenance/offline (or back online), by name."""
    return {backend: status for backend, status in session.connection().execute(_OVERRIDES)}


def backend_statuses(session: Session, devices: Iterable[Device]) -> dict[str, DeviceStatus]:
    """Each backend's status now: the operator's override where one is set, else the device's own."""
    overrides = backend_status_overrides(session)
    return {device.name: DeviceStatus(overrides.get(device.name, device.status)) for device in devices}


def backend_status(session: Session, device: Device) -> DeviceStatus:
    """One backend's status now (see :func:`backend_statuses`)."""
    return backend_statuses(session, [device])[device.name]


def set_backend_status(session: Session, backend: str, status: str) -> None:
    if status not in tuple(DeviceStatus):
        raise ValueError(f"status must be online, maintenance or offline, not {status!r}")
    now = utcnow()
    row = session.get(BackendState, backend)
    if row is None:
        session.add(BackendState(backend=backend, status=status, updated_at=now))
    else:
        row.status = status
        row.updated_at = now
    session.add(BackendStatusEvent(backend=backend, status=status, at=now))


def status_history(session: Session, backend: str, limit: int = 20) -> list[BackendStatusEvent]:
    """The backend's latest status changes, newest first."""
    query = (select(BackendStatusEvent).where(BackendStatusEvent.backend == backend)
             .order_by(BackendStatusEvent.at.desc(), BackendStatusEvent.id.desc()).limit(limit))
    return list(session.scalars(query))
