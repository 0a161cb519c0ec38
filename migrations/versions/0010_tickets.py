"""Tickets (with comments, history, linked calls, tenants' due-time targets), contacts' custom
field definitions and call scripts' versions.

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"))


def upgrade() -> None:
    op.create_table(
        "contact_field_defs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("choices", _json(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _tenant("contact_field_defs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_field_defs")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_contact_field_defs_tenant_id_name")),
    )
    op.create_table(
        "ticket_targets",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.JSON(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        _tenant("ticket_targets"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_ticket_targets")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("assignee_user_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("due_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["assignee_user_id"], ["users.id"],
                                name=op.f("fk_tickets_assignee_user_id_users")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_tickets_contact_id_contacts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_tickets_created_by_users")),
        _tenant("tickets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_tenant_id_assignee_user_id"), "tickets",
                    ["tenant_id", "assignee_user_id"])
    op.create_index(op.f("ix_tickets_tenant_id_contact_id"), "tickets", ["tenant_id", "contact_id"])
    op.create_index(op.f("ix_tickets_tenant_id_status_due_at"), "tickets",
                    ["tenant_id", "status", "due_at"])
    op.create_table(
        "ticket_calls",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"],
                                name=op.f("fk_ticket_calls_call_id_calls")),
        _tenant("ticket_calls"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_calls_ticket_id_tickets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "call_id", name=op.f("pk_ticket_calls")),
    )
    op.create_index(op.f("ix_ticket_calls_call_id"), "ticket_calls", ["call_id"])
    for table, text_column, time_column in (
        ("ticket_comments", "body", "created_at"), ("ticket_history", None, "at")
    ):
        columns = [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("ticket_id", sa.Integer(), nullable=False),
            sa.Column("tenant_id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=True),
        ]
        if text_column is not None:
            columns.append(sa.Column(text_column, sa.Text(), nullable=False))
            columns.append(sa.Column(time_column, _timestamp(), nullable=False))
        else:
            columns += [
                sa.Column(time_column, _timestamp(), nullable=False),
                sa.Column("field", sa.String(length=32), nullable=False),
                sa.Column("old", sa.Text(), nullable=True),
                sa.Column("new", sa.Text(), nullable=True),
            ]
        op.create_table(
            table,
            *columns,
            _tenant(table),
            sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                    name=op.f(f"fk_{table}_ticket_id_tickets"), ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                    name=op.f(f"fk_{table}_user_id_users")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )
        op.create_index(op.f(f"ix_{table}_ticket_id_{time_column}"), table,
                        ["ticket_id", time_column])


    op.create_table(
        "call_script_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("saved_by", sa.Integer(), nullable=True),
        sa.Column("saved_at", _timestamp(), nullable=False),
        _tenant("call_script_versions"),
        sa.ForeignKeyConstraint(["saved_by"], ["users.id"],
                                name=op.f("fk_call_script_versions_saved_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_script_versions")),
        sa.UniqueConstraint("tenant_id", "name", "version",
                            name=op.f("uq_call_script_versions_tenant_id_name_version")),
    )


def downgrade() -> None:
    for table in ("call_script_versions", "ticket_history", "ticket_comments", "ticket_calls",
                  "tickets", "ticket_targets", "contact_field_defs"):
        op.drop_table(table)
