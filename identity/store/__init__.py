"""The app's durable state: one database for everything per user that must outlive a process.

Login sessions, chats, pending consents, Disconnect marks, the activity log and the change feed that tells every
replica what another one changed. SQLAlchemy Core on SQLite (embedded default, `.appstate/app.sqlite3`) or
PostgreSQL (`APP_DATABASE_URL`, for replicas), one code path for both; the schema is migrated by Alembic at start.
No token, key or secret is ever stored here: what is sensitive (authorization URLs, session URIs) is sealed.
"""

from typing import TYPE_CHECKING

from identity.lazy import lazy_exports

if TYPE_CHECKING:
    from identity.store.database import (
        APP_STATE_DIRNAME,
        Database,
        app_state_dir,
        database_url,
        open_app_database,
        open_database,
    )
    from identity.store.errors import StoreUnavailable
    from identity.store.feed import Change, ChangeFeed

__all__ = ["APP_STATE_DIRNAME", "Change", "ChangeFeed", "Database", "StoreUnavailable", "app_state_dir", "database_url",
           "open_app_database", "open_database"]

__getattr__ = lazy_exports(__name__, {
    "APP_STATE_DIRNAME": "database",
    "Database": "database",
    "app_state_dir": "database",
    "database_url": "database",
    "open_app_database": "database",
    "open_database": "database",
    "StoreUnavailable": "errors",
    "Change": "feed",
    "ChangeFeed": "feed",
})
