"""Virtual numbers: the tenants' pools, the number each contact sees, masked two-party mappings.

Revision ID: 0024
Revises: 0025
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0025"
branch_labels: str | None = None
depends_on: str | None = None


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                   name=op.f(f"fk_{table}_tenant_id_tenants"))


def upgrade() -> None:
    op.create_table(
        "virtual_numbers",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=True),
        _tenant("virtual_numbers"),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_virtual_numbers")),
    )
    op.create_index(op.f("ix_virtual_numbers_tenant_id"), "virtual_numbers", ["tenant_id"])
    op.create_table(
        "contact_virtual_numbers",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE",
                                name=op.f("fk_contact_virtual_numbers_contact_id_contacts")),
        _tenant("contact_virtual_numbers"),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_virtual_numbers")),
    )
    op.create_index(op.f("ix_contact_virtual_numbers_tenant_id"), "contact_virtual_numbers",
                    ["tenant_id"])
    op.create_table(
        "masked_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("virtual", sa.String(length=32), nullable=False),
        sa.Column("party_a", sa.String(length=32), nullable=False),
        sa.Column("party_b", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        _tenant("masked_mappings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masked_mappings")),
    )
    op.create_index(op.f("ix_masked_mappings_tenant_id"), "masked_mappings", ["tenant_id"])
    op.create_index(op.f("ix_masked_mappings_virtual"), "masked_mappings", ["virtual"])


def downgrade() -> None:
    op.drop_table("masked_mappings")
    op.drop_table("contact_virtual_numbers")
    op.drop_table("virtual_numbers")
