"""Voicemail inbox: each message's state (new/heard, assignee) and tenants' voicemail retention;
tenants' report settings (the default time zone of reports).

Revision ID: 0022
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "voicemail_states",
        sa.Column("recording_id", sa.String(length=43), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("heard_at", nullable=True),
        sa.Column("heard_by", sa.Integer(), nullable=True),
        sa.Column("assigned_user_id", sa.Integer(), nullable=True),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE",
                                name=op.f("fk_voicemail_states_recording_id_recordings")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_voicemail_states_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["heard_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_voicemail_states_heard_by_users")),
        sa.ForeignKeyConstraint(["assigned_user_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_voicemail_states_assigned_user_id_users")),
        sa.PrimaryKeyConstraint("recording_id", name=op.f("pk_voicemail_states")),
    )
    op.create_index(op.f("ix_voicemail_states_tenant_id_assigned_user_id"), "voicemail_states",
                    ["tenant_id", "assigned_user_id"])
    op.create_table(
        "voicemail_rules",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_voicemail_rules_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_voicemail_rules")),
    )


    op.create_table(
        "report_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_report_settings_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_report_settings")),
    )


def downgrade() -> None:
    op.drop_table("report_settings")
    op.drop_table("voicemail_rules")
    op.drop_table("voicemail_states")
