"""performance runs: stored characterization suite results per backend

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "performance_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("suite", sa.String(length=32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id"),
    )
    with op.batch_alter_table("performance_runs", schema=None) as batch_op:
        batch_op.create_index("ix_performance_backend_time", ["backend", "time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("performance_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_performance_backend_time")
    op.drop_table("performance_runs")
