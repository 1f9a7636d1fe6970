"""The node's store: one SQLite database file per node (WAL), versioned migrations.

``db.py`` is the only module that imports aiosqlite; every other module here is a repository for
one concept and speaks SQL through ``Database``.
"""

from nodes.store.db import Database

__all__ = ["Database"]
