"""create projects

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # Spelled out here rather than imported from app.db: a migration must keep meaning what it
    # meant when it was written, whatever the models say later.
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),  # SERIAL
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )


def downgrade():
    op.drop_table("projects")
