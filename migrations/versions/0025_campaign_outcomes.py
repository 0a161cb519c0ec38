"""Campaign attempts: the disposition of their call, and a look-up by call (a preview call's
outcome written back, a wrap-up's disposition).

Revision ID: 0025
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_campaign_attempts_call_id"), ["call_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_attempts_call_id"))
        batch_op.drop_column("disposition")
