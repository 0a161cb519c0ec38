"""IVR flow versions and recordings (voicemails now, recorded calls later).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ivr_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("sources", _json(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ivr_versions_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_ivr_versions_created_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_versions")),
        sa.UniqueConstraint(
            "tenant_id", "number", name=op.f("uq_ivr_versions_tenant_id_number")
        ),
    )
    op.create_index(
        "uq_ivr_versions_active_tenant",
        "ivr_versions",
        ["tenant_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "voicemail",
                "call",
                name="recording_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("mailbox_kind", sa.String(length=16), nullable=True),
        sa.Column("mailbox", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("started_at", _timestamp(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recordings_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_recordings_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["agent_user_id"], ["users.id"], name=op.f("fk_recordings_agent_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_index(op.f("ix_recordings_call_id"), "recordings", ["call_id"])
    op.create_index(
        op.f("ix_recordings_tenant_id_created_at"), "recordings", ["tenant_id", "created_at"]
    )
    op.create_index(
        op.f("ix_recordings_tenant_id_kind_mailbox_kind_mailbox"),
        "recordings",
        ["tenant_id", "kind", "mailbox_kind", "mailbox"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_recordings_tenant_id_kind_mailbox_kind_mailbox"), table_name="recordings"
    )
    op.drop_index(op.f("ix_recordings_tenant_id_created_at"), table_name="recordings")
    op.drop_index(op.f("ix_recordings_call_id"), table_name="recordings")
    op.drop_table("recordings")
    op.drop_index("uq_ivr_versions_active_tenant", table_name="ivr_versions")
    op.drop_table("ivr_versions")
