"""Campaigns: preview, progressive and predictive dialling over lead lists, and their attempts.

Revision ID: 0019
Revises: 0009
Create Date: 2026-12-02 10:36:37.893502
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0021"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lead_lists.id"], name=op.f("fk_campaigns_list_id_lead_lists")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaigns_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_campaigns_tenant_id_name")),
    )
    op.create_table(
        "campaign_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("amd", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_user_id"], ["users.id"], name=op.f("fk_campaign_attempts_agent_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_attempts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_campaign_attempts_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_campaign_attempts_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_attempts")),
    )
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_attempts_campaign_id_placed_at"),
            ["campaign_id", "placed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_attempts_tenant_id_result"),
            ["tenant_id", "result"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_attempts_tenant_id_result"))
        batch_op.drop_index(batch_op.f("ix_campaign_attempts_campaign_id_placed_at"))

    op.drop_table("campaign_attempts")
    op.drop_table("campaigns")
