"""Per-game scope of a plugin: the games it is limited to (`games`, null for every game) and its
configuration overrides per game (`game_config`). See `clipforge.plugin_scope`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("plugins", sa.Column("games", postgresql.JSONB(), nullable=True))
    op.add_column(
        "plugins",
        sa.Column("game_config", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
    )


def downgrade() -> None:
    op.drop_column("plugins", "game_config")
    op.drop_column("plugins", "games")
