"""Conversation analytics: per-speaker tracks of recordings, transcripts (full-text searchable),
calls' insights, tenants' analytics rules; call quality per leg (RTCP figures, MES).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

# SQLite: an FTS5 index over the lines' text (external content), kept by triggers, so every
# way a line goes (a recording deleted by retention cascades to its transcript) leaves it.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE transcript_search USING fts5("
    "text, content='transcript_lines', content_rowid='id')",
    "CREATE TRIGGER transcript_lines_indexed AFTER INSERT ON transcript_lines BEGIN "
    "INSERT INTO transcript_search(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER transcript_lines_unindexed AFTER DELETE ON transcript_lines BEGIN "
    "INSERT INTO transcript_search(transcript_search, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
]
POSTGRES_SEARCH = (
    "CREATE INDEX ix_transcript_lines_search ON transcript_lines "
    "USING gin (to_tsvector('simple', text))"
)


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("tracks_path", sa.String(length=500), nullable=True))
    op.create_table(
        "analytics_rules",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("lead", sa.JSON(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_analytics_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_analytics_rules")),
    )
    op.create_table(
        "call_insights",
        sa.Column("recording_id", sa.String(length=43), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("lead_score", sa.Float(), nullable=False),
        sa.Column("hot", sa.Boolean(), nullable=False),
        sa.Column("computed_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"],
            name=op.f("fk_call_insights_recording_id_recordings"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_call_insights_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("recording_id", name=op.f("pk_call_insights")),
    )
    op.create_index(op.f("ix_call_insights_tenant_id_hot_computed_at"), "call_insights",
                    ["tenant_id", "hot", "computed_at"])
    op.create_table(
        "transcripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=43), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("engine", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("took_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"],
            name=op.f("fk_transcripts_recording_id_recordings"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_transcripts_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_transcripts_recording_id")),
    )
    op.create_index(op.f("ix_transcripts_tenant_id_created_at"), "transcripts",
                    ["tenant_id", "created_at"])
    op.create_table(
        "transcript_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transcript_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_transcript_lines_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["transcript_id"], ["transcripts.id"],
            name=op.f("fk_transcript_lines_transcript_id_transcripts"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_lines")),
    )
    op.create_index(op.f("ix_transcript_lines_tenant_id"), "transcript_lines", ["tenant_id"])
    op.create_index(op.f("ix_transcript_lines_transcript_id_start"), "transcript_lines",
                    ["transcript_id", "start"])
    op.create_table(
        "call_quality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("leg", sa.String(length=16), nullable=False),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("mes", sa.Float(), nullable=True),
        sa.Column("min_mes", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("rtt_ms", sa.Float(), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_quality_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_call_quality_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_quality")),
    )
    op.create_index(op.f("ix_call_quality_call_id"), "call_quality", ["call_id"])
    op.create_index(op.f("ix_call_quality_tenant_id_at"), "call_quality", ["tenant_id", "at"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)
    else:
        op.execute(POSTGRES_SEARCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER transcript_lines_unindexed")
        op.execute("DROP TRIGGER transcript_lines_indexed")
        op.execute("DROP TABLE transcript_search")
    else:
        op.execute("DROP INDEX ix_transcript_lines_search")
    op.drop_table("call_quality")
    op.drop_table("transcript_lines")
    op.drop_table("transcripts")
    op.drop_table("call_insights")
    op.drop_table("analytics_rules")
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("tracks_path")
