"""The external CRM link (per-tenant lookup and "open in CRM" settings) and number masking.

Revision ID: 0021
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "crm_links",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("lookup_url", sa.String(length=2000), nullable=True),
        sa.Column("token", sa.String(length=500), nullable=True),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("cache_s", sa.Integer(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("open_url", sa.String(length=2000), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_links_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_crm_links")),
    )
    op.create_table(
        "number_masking",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("webhooks", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_number_masking_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_number_masking")),
    )


def downgrade() -> None:
    op.drop_table("number_masking")
    op.drop_table("crm_links")
