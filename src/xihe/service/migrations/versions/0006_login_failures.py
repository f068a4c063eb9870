"""login failures and backend status events: the web login's backoff counters, shared by every API replica, and
each backend's status changes (the system page's status history)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 09:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_last_at", ["last_at"], unique=False)
    op.create_table(
        "backend_status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backend_status_events", schema=None) as batch_op:
        batch_op.create_index("ix_backend_status_events_backend_at", ["backend", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backend_status_events", schema=None) as batch_op:
        batch_op.drop_index("ix_backend_status_events_backend_at")
    op.drop_table("backend_status_events")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_last_at")
    op.drop_table("login_failures")
