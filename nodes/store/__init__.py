"""The node's store: one SQLite database file per node (WAL), versioned migrations.

``db.py`` is the only module that imports aiosqlite; every other module here is a repository for
one concept and speaks SQL through ``Database``. ``Store`` holds one of each, built once per node;
no SQL is written outside this package (``tests/unit/test_architecture.py``).
"""

from nodes.store.db import Database
from nodes.store.store import Store

__all__ = ("Database", "Store")
