"""oauth codes: authorization codes of the PKCE browser login (quafu-sdk's quafu.login())

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=512), nullable=False),
        sa.Column("code_challenge", sa.String(length=64), nullable=False),
        sa.Column("device_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_codes_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_oauth_codes_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_codes_expires_at")
        batch_op.drop_index("ix_oauth_codes_user_id")
    op.drop_table("oauth_codes")
