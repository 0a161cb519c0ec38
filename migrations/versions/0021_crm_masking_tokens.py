"""The external CRM link (per-tenant lookup and "open in CRM" settings), number masking, and
API tokens' expiry and rotation.

Revision ID: 0021
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0022"
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
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("old_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("old_valid_until", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(op.f("uq_api_tokens_old_hash"), ["old_hash"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("uq_api_tokens_old_hash"), type_="unique")
        batch.drop_column("rotated_at")
        batch.drop_column("old_valid_until")
        batch.drop_column("old_hash")
        batch.drop_column("expires_at")
    op.drop_table("number_masking")
    op.drop_table("crm_links")
