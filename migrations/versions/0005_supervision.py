"""Supervision audit, recording policies, tenants' recording rules, recording access audit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "supervision_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("supervisor_user_id", sa.Integer(), nullable=True),
        sa.Column("supervisor_line", sa.String(length=200), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("started_at", _timestamp(), nullable=False),
        sa.Column("ended_at", _timestamp(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_supervision_audit_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_supervision_audit_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_user_id"],
            ["users.id"],
            name=op.f("fk_supervision_audit_supervisor_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_user_id"], ["users.id"], name=op.f("fk_supervision_audit_agent_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_audit")),
    )
    op.create_index(
        op.f("ix_supervision_audit_tenant_id_started_at"),
        "supervision_audit",
        ["tenant_id", "started_at"],
    )
    op.create_index(op.f("ix_supervision_audit_call_id"), "supervision_audit", ["call_id"])
    op.create_index(op.f("ix_supervision_audit_session_id"), "supervision_audit", ["session_id"])

    op.create_table(
        "recording_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "all",
                "none",
                "on-demand",
                "sample",
                name="recording_policy_mode",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("sample_percent", sa.Float(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recording_policies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_policies")),
        sa.UniqueConstraint(
            "tenant_id", "queue", name=op.f("uq_recording_policies_tenant_id_queue")
        ),
    )

    op.create_table(
        "recording_rules",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("agents_hear_own", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recording_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_recording_rules")),
    )

    op.create_table(
        "recording_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=43), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("byte_range", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recording_access_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recording_access_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_access")),
    )
    op.create_index(
        op.f("ix_recording_access_tenant_id_at"), "recording_access", ["tenant_id", "at"]
    )
    op.create_index(
        op.f("ix_recording_access_recording_id"), "recording_access", ["recording_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_recording_access_recording_id"), table_name="recording_access")
    op.drop_index(op.f("ix_recording_access_tenant_id_at"), table_name="recording_access")
    op.drop_table("recording_access")
    op.drop_table("recording_rules")
    op.drop_table("recording_policies")
    op.drop_index(op.f("ix_supervision_audit_session_id"), table_name="supervision_audit")
    op.drop_index(op.f("ix_supervision_audit_call_id"), table_name="supervision_audit")
    op.drop_index(
        op.f("ix_supervision_audit_tenant_id_started_at"), table_name="supervision_audit"
    )
    op.drop_table("supervision_audit")
