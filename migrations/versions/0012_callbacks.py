"""Callbacks: queued (a waiting caller's place), scheduled and API callbacks.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.String(length=32), nullable=True),
        sa.Column("origin_call_id", sa.String(length=64), nullable=True),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_callbacks_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["agent_user_id"], ["users.id"], name=op.f("fk_callbacks_agent_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_callbacks_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index("ix_callbacks_tenant_status", "callbacks", ["tenant_id", "status"])
    op.create_index("ix_callbacks_status_due", "callbacks", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_status_due", table_name="callbacks")
    op.drop_index("ix_callbacks_tenant_status", table_name="callbacks")
    op.drop_table("callbacks")
