"""Evaluation scorecards: the tenants' scorecards and the evaluations made with them
(evaluations/tables.py).

Revision ID: 0020
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def _when(name: str) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "scorecards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_scorecards_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecards")),
    )
    op.create_index(op.f("ix_scorecards_tenant_id_name"), "scorecards", ["tenant_id", "name"],
                    unique=True)
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("scorecard_id", sa.Integer(), nullable=True),
        sa.Column("scorecard_name", sa.String(length=100), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("recording_id", sa.String(length=43), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("evaluator_user_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agent_comment", sa.Text(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE",
                                name=op.f("fk_evaluations_recording_id_recordings")),
        sa.ForeignKeyConstraint(["scorecard_id"], ["scorecards.id"], ondelete="SET NULL",
                                name=op.f("fk_evaluations_scorecard_id_scorecards")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_evaluations_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    op.create_index(op.f("ix_evaluations_recording_id"), "evaluations", ["recording_id"])
    op.create_index(op.f("ix_evaluations_tenant_id_agent_user_id_created_at"), "evaluations",
                    ["tenant_id", "agent_user_id", "created_at"])


def downgrade() -> None:
    op.drop_table("evaluations")
    op.drop_table("scorecards")
