"""job count pages: counts of many distinct outcomes stored in pages apart from the job's record (issue 18: results
stored and served in bounded pieces)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_count_pages",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("item", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("page", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("outcomes", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "item", "page"),
    )


def downgrade() -> None:
    op.drop_table("job_count_pages")
