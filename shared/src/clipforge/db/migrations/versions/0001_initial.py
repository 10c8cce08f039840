"""Clips, the plugin registry, the outbox and the processed-events ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "clips",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("file_path", sa.String(1024), nullable=False),
        sa.Column("resolution", sa.String(16)),
        sa.Column("fps", sa.Float()),
        sa.Column("codec", sa.String(32)),
        sa.Column("duration", sa.Float()),
        sa.Column("file_size", sa.BigInteger()),
        sa.Column("game_name", sa.String(200)),
        sa.Column("game_id", sa.String(100)),
        sa.Column("status", sa.String(32), nullable=False, server_default="pending"),
        sa.Column("tags", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("metadata", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("recorded_at", sa.DateTime(timezone=True)),
        *_timestamps(),
    )
    op.create_index("ix_clips_game_name", "clips", ["game_name"])
    op.create_index("ix_clips_game_id", "clips", ["game_id"])
    op.create_index("ix_clips_status", "clips", ["status"])
    op.create_index("ix_clips_recorded_at", "clips", ["recorded_at"])
    op.create_index("ix_clips_created_at", "clips", ["created_at"])
    op.create_index("ix_clips_tags", "clips", ["tags"], postgresql_using="gin")

    op.create_table(
        "plugins",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200)),
        sa.Column("plugin_type", sa.String(32), nullable=False, server_default="python"),
        sa.Column("entry_point", sa.String(512)),
        sa.Column("install_path", sa.String(1024)),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("metadata", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("source", sa.String(32), nullable=False, server_default="api"),
        sa.Column("load_error", sa.Text()),
        *_timestamps(),
    )

    op.create_table(
        "plugin_configurations",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("plugin_id", sa.Integer(), sa.ForeignKey("plugins.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", postgresql.JSONB(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("plugin_id", "key", name="uq_plugin_configurations_plugin_key"),
    )
    op.create_index("ix_plugin_configurations_plugin_id", "plugin_configurations", ["plugin_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )

    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    for table in ("processed_events", "outbox", "plugin_configurations", "plugins", "clips"):
        op.drop_table(table)
