"""The state store's first schema: sign-in, chats, consents, Disconnect marks, activity and the change feed.

Revision ID: 0001
Revises:
Create Date: 2026-12-07

Written out in full (not imported from `identity.store.schema`): a migration must keep creating what it created
when it was written, whatever the schema module says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _owner() -> list[sa.Column]:
    return [sa.Column("issuer", sa.Text, nullable=False), sa.Column("subject", sa.Text, nullable=False)]


def upgrade() -> None:
    op.create_table("meta", sa.Column("name", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table("login_sessions", sa.Column("id_hash", sa.String(64), primary_key=True),
                    sa.Column("sealed", sa.LargeBinary, nullable=False),
                    sa.Column("expires_at", sa.Float, nullable=False),
                    sa.Column("created_at", sa.Float, nullable=False))
    op.create_table("signin_tickets", sa.Column("ticket_hash", sa.String(64), primary_key=True),
                    sa.Column("sealed", sa.LargeBinary, nullable=False),
                    sa.Column("browser_hash", sa.String(64), nullable=False),
                    sa.Column("expires_at", sa.Float, nullable=False))
    op.create_table("signin_attempts", sa.Column("attempt_hash", sa.String(64), primary_key=True),
                    sa.Column("browser_hash", sa.String(64)), sa.Column("expires_at", sa.Float, nullable=False))
    op.create_index("ix_signin_attempts_expires_at", "signin_attempts", ["expires_at"])
    op.create_table("chats", sa.Column("id", sa.String(64), primary_key=True), *_owner(),
                    sa.Column("title", sa.Text, nullable=False), sa.Column("created_at", sa.Float, nullable=False),
                    sa.Column("updated_at", sa.Float, nullable=False))
    op.create_index("chats_by_owner", "chats", ["issuer", "subject", "updated_at"])
    op.create_table("chat_entries", sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("chat_id", sa.String(64), nullable=False), *_owner(),
                    sa.Column("kind", sa.String(16), nullable=False), sa.Column("body", sa.Text, nullable=False),
                    sa.Column("created_at", sa.Float, nullable=False))
    op.create_index("chat_entries_by_chat", "chat_entries", ["chat_id", "issuer", "subject", "seq"])
    op.create_table("consents", sa.Column("state_hash", sa.String(64), primary_key=True), *_owner(),
                    sa.Column("provider", sa.Text, nullable=False), sa.Column("scopes", sa.Text, nullable=False),
                    sa.Column("sealed", sa.LargeBinary, nullable=False),
                    sa.Column("status", sa.String(16), nullable=False), sa.Column("detail", sa.Text, nullable=False),
                    sa.Column("browser_hash", sa.String(64), nullable=False),
                    sa.Column("created_at", sa.Float, nullable=False),
                    sa.Column("expires_at", sa.Float, nullable=False))
    op.create_index("consents_by_owner", "consents", ["issuer", "subject", "created_at"])
    op.create_table("disconnects", sa.Column("issuer", sa.Text, primary_key=True),
                    sa.Column("subject", sa.Text, primary_key=True), sa.Column("workload", sa.Text, primary_key=True),
                    sa.Column("kind", sa.String(16), primary_key=True),
                    sa.Column("provider", sa.Text, primary_key=True),
                    sa.Column("scopes", sa.Text, primary_key=True), sa.Column("created_at", sa.Float, nullable=False))
    op.create_table("activity", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), *_owner(),
                    sa.Column("at", sa.Float, nullable=False), sa.Column("action", sa.Text, nullable=False),
                    sa.Column("provider", sa.Text, nullable=False), sa.Column("outcome", sa.Text, nullable=False),
                    sa.Column("latency_ms", sa.Float, nullable=False), sa.Column("detail", sa.Text, nullable=False),
                    sa.Column("turn_id", sa.Text, nullable=False), sa.Column("tool_call_id", sa.Text, nullable=False),
                    sa.Column("tool", sa.Text, nullable=False))
    op.create_index("activity_by_user", "activity", ["issuer", "subject", "id"])
    op.create_table("changes", sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("at", sa.Float, nullable=False), sa.Column("origin", sa.String(32), nullable=False),
                    sa.Column("topic", sa.String(32), nullable=False), *_owner(),
                    sa.Column("detail", sa.Text, nullable=False))
    op.create_index("ix_changes_at", "changes", ["at"])


def downgrade() -> None:
    for table in ("changes", "activity", "disconnects", "consents", "chat_entries", "chats", "signin_attempts",
                  "signin_tickets", "login_sessions", "meta"):
        op.drop_table(table)
