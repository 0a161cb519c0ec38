"""Quarter-hour rollups of the reports' figures (reports/rollups.py).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "report_queue_quarters",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("short", sa.Float(), nullable=False),
        sa.Column("offered", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("answered_within", sa.Integer(), nullable=False),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("unanswered_within", sa.Integer(), nullable=False),
        sa.Column("short_count", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("short_abandoned", sa.Integer(), nullable=False),
        sa.Column("timed_out", sa.Integer(), nullable=False),
        sa.Column("left_empty", sa.Integer(), nullable=False),
        sa.Column("transferred", sa.Integer(), nullable=False),
        sa.Column("answer_wait", sa.Float(), nullable=False),
        sa.Column("abandon_wait", sa.Float(), nullable=False),
        sa.Column("longest_wait", sa.Float(), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("talk", sa.Float(), nullable=False),
        sa.Column("wrapup", sa.Float(), nullable=False),
        sa.Column("away", sa.Integer(), nullable=False),
        sa.Column("callbacks", sa.Integer(), nullable=False),
        sa.Column("callbacks_connected", sa.Integer(), nullable=False),
        sa.Column("callbacks_failed", sa.Integer(), nullable=False),
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
        sa.Column("offered", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("talk", sa.Float(), nullable=False),
        sa.Column("wrapup", sa.Float(), nullable=False),
        sa.Column("paused", sa.Float(), nullable=False),
        sa.Column("busy", sa.Float(), nullable=False),
        sa.Column("available", sa.Float(), nullable=False),
        sa.Column("outbound_placed", sa.Integer(), nullable=False),
        sa.Column("outbound_connected", sa.Integer(), nullable=False),
        sa.Column("outbound_talk", sa.Float(), nullable=False),
        sa.Column("outbound_wrapup", sa.Float(), nullable=False),
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
