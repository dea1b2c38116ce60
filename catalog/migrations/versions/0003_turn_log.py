"""The query log table (``turn_log``): one row per served turn or feedback event, the JSON line in
``record``. Used when ``database_url`` is PostgreSQL (a JSONL file otherwise); see docs/eval.md.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "turn_log" in sa.inspect(op.get_bind()).get_table_names():  # made by a create_all of the newer schema
        return
    op.create_table(
        "turn_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("turn_id", sa.String(32)),
        sa.Column("session", sa.String(64)),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_index("ix_turn_log_ts", "turn_log", ["ts"])
    op.create_index("ix_turn_log_turn_id", "turn_log", ["turn_id"])


def downgrade() -> None:
    op.drop_index("ix_turn_log_turn_id", table_name="turn_log")
    op.drop_index("ix_turn_log_ts", table_name="turn_log")
    op.drop_table("turn_log")
