"""Agents' report figures per UTC day (reports/tables.py AgentDayRow), filled from the quarters.

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | None = None
depends_on: str | None = None

_INTEGERS = ("offered", "answered", "missed", "transfers", "handled", "outbound_placed",
             "outbound_connected")
_FLOATS = ("talk", "wrapup", "paused", "busy", "available", "outbound_talk", "outbound_wrapup")
_TALLY = _INTEGERS + _FLOATS
_DAY_S = 86400


def upgrade() -> None:
    days = op.create_table(
        "report_agent_days",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _INTEGERS),
        *(sa.Column(name, sa.Float(), nullable=False) for name in _FLOATS),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_report_agent_days_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "day", "agent_user_id",
                                name=op.f("pk_report_agent_days")),
    )
    # The quarters already rolled, added up by day here (in Python: a UTC day is one
    # expression per dialect in SQL), so reports read days at once after the upgrade.
    quarters = sa.table("report_agent_quarters", sa.column("tenant_id"), sa.column("start"),
                        sa.column("agent_user_id"), *(sa.column(name) for name in _TALLY))
    sums: dict[tuple[int, datetime, int], list[float]] = {}
    for row in op.get_bind().execute(sa.select(quarters)).mappings():
        start = row["start"]
        if isinstance(start, str):  # SQLite keeps the text
            start = datetime.fromisoformat(start)
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        epoch = start.timestamp()
        day = datetime.fromtimestamp(epoch - epoch % _DAY_S, UTC)
        tally = sums.setdefault((row["tenant_id"], day, row["agent_user_id"]), [0] * len(_TALLY))
        for n, name in enumerate(_TALLY):
            tally[n] += row[name]
    if sums:
        op.bulk_insert(days, [
            {"tenant_id": tenant_id, "day": day, "agent_user_id": agent,
             **dict(zip(_TALLY, tally, strict=True))}
            for (tenant_id, day, agent), tally in sums.items()])


def downgrade() -> None:
    op.drop_table("report_agent_days")
