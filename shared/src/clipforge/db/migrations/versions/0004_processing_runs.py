"""Processing runs, the per-plugin trace, and backfill jobs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("plugin_id", sa.Integer(), sa.ForeignKey("plugins.id", ondelete="CASCADE"), nullable=False),
        sa.Column("plugin_name", sa.String(64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_backfills_plugin_id", "backfills", ["plugin_id"])
    op.create_table(
        "clip_runs",
        sa.Column("run_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "clip_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("clips.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("due", postgresql.JSONB()),
        sa.Column("backfill_id", sa.Integer()),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_clip_runs_open", "clip_runs", ["clip_id"], postgresql_where=sa.text("completed_at IS NULL")
    )
    op.create_table(
        "plugin_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("run_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "clip_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("clips.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("runner", sa.String(255), nullable=False),
        sa.Column("backfill_id", sa.Integer()),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("run_id", "plugin", name="uq_plugin_runs_run_plugin"),
    )
    op.create_index("ix_plugin_runs_clip_id", "plugin_runs", ["clip_id", "plugin"])
    op.create_index(
        "ix_plugin_runs_backfill_id",
        "plugin_runs",
        ["backfill_id"],
        postgresql_where=sa.text("backfill_id IS NOT NULL"),
    )


def downgrade() -> None:
    for table in ("plugin_runs", "clip_runs", "backfills"):
        op.drop_table(table)
