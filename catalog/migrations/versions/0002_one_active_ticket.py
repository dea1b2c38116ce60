"""At most one active (open or assigned) escalation per session, enforced by the database.

This is what makes ticket creation idempotent under concurrency, across processes: a second
concurrent ``create`` for the same session hits the unique index and returns the winner's ticket.
Existing duplicates (possible before this revision) are kept, not deleted: all but the newest active
ticket of a session are marked ``resolved`` first.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('open', 'assigned')"


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id, session_id FROM escalations WHERE {ACTIVE} ORDER BY id DESC")).all()
    seen: set[str] = set()
    for ticket_id, session_id in rows:
        if session_id in seen:
            conn.execute(sa.text("UPDATE escalations SET status = 'resolved' WHERE id = :i"), {"i": ticket_id})
        seen.add(session_id)
    op.create_index("uq_escalations_one_active", "escalations", ["session_id"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index("uq_escalations_one_active", table_name="escalations")
