"""Index plugin runs by plugin, newest last, for each plugin's recent-runs summary.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_plugin_runs_plugin_id", "plugin_runs", ["plugin", "id"])


def downgrade() -> None:
    op.drop_index("ix_plugin_runs_plugin_id", "plugin_runs")
