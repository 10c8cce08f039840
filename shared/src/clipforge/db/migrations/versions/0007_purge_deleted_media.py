"""A deleted clip's files are deleted after the commit, retried until done: the tombstone records
the uploaded file to delete (none for a file registered by path: that one is the user's) and when
the clip's files were purged.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deleted_clips", sa.Column("file_path", sa.Text(), nullable=True))
    op.add_column("deleted_clips", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE deleted_clips SET purged_at = deleted_at")
    op.create_index(
        "ix_deleted_clips_unpurged",
        "deleted_clips",
        ["deleted_at"],
        postgresql_where=sa.text("purged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deleted_clips_unpurged", table_name="deleted_clips")
    op.drop_column("deleted_clips", "purged_at")
    op.drop_column("deleted_clips", "file_path")
