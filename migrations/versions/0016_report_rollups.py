"""Quarter-hour rollups of the reports' figures (reports/rollups.py).

Revision ID: 0016
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "report_queue_quarters",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("short", sa.Float(), nullable=False),
        sa.Column("tally", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_report_queue_quarters_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "start", "queue",
                                name=op.f("pk_report_queue_quarters")),
    )
    op.create_table(
        "report_agent_quarters",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=False),
        sa.Column("tally", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_report_agent_quarters_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "start", "agent_user_id",
                                name=op.f("pk_report_agent_quarters")),
    )
    op.create_table(
        "report_rollup_marks",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_report_rollup_marks_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_report_rollup_marks")),
    )


def downgrade() -> None:
    op.drop_table("report_rollup_marks")
    op.drop_table("report_agent_quarters")
    op.drop_table("report_queue_quarters")
