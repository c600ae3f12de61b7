"""projects.archived_at: an expand step

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Safe while the previous version serves (start-first upgrades, rollback): the
column is nullable and has no default to backfill, so the old version's inserts
(which do not name it) and its selects (which name only their own columns) work
unchanged; nothing is renamed or dropped. A later version may start writing it;
a "contract" step that drops something the old version reads waits for the
release after the one that stopped reading it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("projects", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("projects", "archived_at")
