"""The schema as it was before migrations (products, events, sessions, messages, escalations).

A database created by the old ``metadata.create_all`` already has these tables: ``catalog.migrate``
stamps it at this revision instead of running it, then applies the later ones.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "products",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("category_source", sa.String(16)),
        sa.Column("brand", sa.String(200)),
        sa.Column("price", sa.Float),
        sa.Column("currency", sa.String(8)),
        sa.Column("rating", sa.Float),
        sa.Column("image_url", sa.Text),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("session_id", sa.String(64)),
        sa.Column("query", sa.Text),
        sa.Column("ts", ts, nullable=False),
    )
    op.create_index("ix_events_user", "events", ["user"])
    op.create_index("ix_events_item_id", "events", ["item_id"])
    op.create_index("ix_events_user_ts", "events", ["user", "ts"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user", sa.String(64)),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON),
        sa.Column("ts", ts, nullable=False),
    )
    op.create_index("ix_messages_session_id", "messages", ["session_id"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("user", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("intent", sa.String(64)),
        sa.Column("sentiment", sa.Float),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("transcript", sa.JSON, nullable=False),
        sa.Column("products", sa.JSON, nullable=False),
        sa.Column("order_id", sa.String(64)),
        sa.Column("assignee", sa.String(64)),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    op.create_index("ix_escalations_session_id", "escalations", ["session_id"])
    op.create_table(
        "escalation_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False),
        sa.Column("ts", ts, nullable=False),
    )
    op.create_index("ix_escalation_messages_escalation_id", "escalation_messages", ["escalation_id"])


def downgrade() -> None:
    for table in ("escalation_messages", "escalations", "messages", "sessions", "events", "products"):
        op.drop_table(table)
