"""Operations: the outbox keeps each event's Kafka headers (its trace context), and every running
service process reports itself in `service_instances` for the API's status page.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("headers", postgresql.JSONB(), nullable=True))
    op.create_table(
        "service_instances",
        sa.Column("instance", sa.String(255), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("detail", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_instances")
    op.drop_column("outbox", "headers")
