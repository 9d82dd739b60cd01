"""The tables, as SQLAlchemy Core metadata: what the migrations create and every query is written against.

Times are Unix seconds (float). A user is (issuer, subject) of their verified ID token; every per-user row carries
both, and every query filters by them. Secrets are stored only as SHA-256 hashes; what must be read back but is
sensitive lives in `sealed` columns (AES-GCM).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text

__all__ = ["SCHEMA_REVISION", "activity", "changes", "chat_entries", "chats", "consents", "disconnects",
           "login_sessions", "meta", "metadata", "signin_attempts", "signin_tickets"]

metadata = MetaData()
# The newest migration's revision: the schema below is exactly what migrating to it builds (tests/store prove it),
# so a new database is created from this metadata and stamped, without loading Alembic (11 MiB, 0.2 s at start).
SCHEMA_REVISION = "0001"

meta = Table("meta", metadata, Column("name", String(64), primary_key=True), Column("value", Text, nullable=False))

# -- sign-in (identity.signin.sessions) --------------------------------------------------------------------------
login_sessions = Table(
    "login_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("created_at", Float, nullable=False))
signin_tickets = Table(
    "signin_tickets", metadata,
    Column("ticket_hash", String(64), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("browser_hash", String(64), nullable=False),
    Column("expires_at", Float, nullable=False))
signin_attempts = Table(
    "signin_attempts", metadata,
    Column("attempt_hash", String(64), primary_key=True),
    Column("browser_hash", String(64)),
    Column("expires_at", Float, nullable=False, index=True))

# -- chats (agent.memory) ----------------------------------------------------------------------------------------
chats = Table(
    "chats", metadata,
    Column("id", String(64), primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("chats_by_owner", "issuer", "subject", "updated_at"))
chat_entries = Table(
    "chat_entries", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("chat_id", String(64), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("chat_entries_by_chat", "chat_id", "issuer", "subject", "seq"))

# -- the credential broker (identity.broker) ----------------------------------------------------------------------
consents = Table(
    "consents", metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("scopes", Text, nullable=False),            # JSON list
    Column("sealed", LargeBinary, nullable=False),     # state, authorization URL, session URI
    Column("status", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("browser_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("consents_by_owner", "issuer", "subject", "created_at"))
disconnects = Table(
    "disconnects", metadata,
    Column("issuer", Text, primary_key=True),
    Column("subject", Text, primary_key=True),
    Column("workload", Text, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("provider", Text, primary_key=True),
    Column("scopes", Text, primary_key=True),          # JSON list
    Column("created_at", Float, nullable=False))
activity = Table(
    "activity", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("action", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("detail", Text, nullable=False),
    Column("turn_id", Text, nullable=False),
    Column("tool_call_id", Text, nullable=False),
    Column("tool", Text, nullable=False),
    Index("activity_by_user", "issuer", "subject", "id"))

# -- what one replica tells the others (identity.store.feed) --------------------------------------------------------
changes = Table(
    "changes", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("origin", String(32), nullable=False),      # the process that made the change (it applied it already)
    Column("topic", String(32), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("detail", Text, nullable=False))
