"""The SHA-256 of an uploaded clip's file, unique: the same file uploaded twice is one clip.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("clips", sa.Column("sha256", sa.String(64)))
    op.create_index(
        "ux_clips_sha256", "clips", ["sha256"], unique=True, postgresql_where=sa.text("sha256 IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ux_clips_sha256", "clips")
    op.drop_column("clips", "sha256")
