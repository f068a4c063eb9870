"""job groups: quafu-sdk's open (iterative) jobs, whose tasks are appended over time as ordinary jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 07:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_groups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_ref", sa.String(length=255), nullable=True),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("shots", sa.Integer(), nullable=False),
        sa.Column("compile", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("template", sa.Text(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job_groups", schema=None) as batch_op:
        batch_op.create_index("ix_job_groups_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_job_groups_user_id")
    op.drop_table("job_groups")
