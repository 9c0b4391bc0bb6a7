"""Holding the database's write lock for the rest of a transaction (read-then-write rules).

A rule that reads rows and then inserts on what it read (the audit chain's last HMAC, a
booking's neighbours) must not let another writer in between. ``hold_write_lock`` takes:

- PostgreSQL: a transaction-scoped advisory lock on ``keys`` (one or two integers), so only
  writers of the same kind wait for each other;
- SQLite: the database's single write lock, taken now with BEGIN IMMEDIATE (waiting up to
  busy_timeout) unless this transaction already holds it. pysqlite otherwise runs a SELECT
  outside any transaction and takes the lock only at the INSERT, after another writer may
  have read the same rows and written.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import text

from kap.extensions import db


def sqlite_write_lock() -> bool:
    """On SQLite, hold the database's write lock until the transaction ends (BEGIN IMMEDIATE,
    unless this transaction already holds it); returns whether the database is SQLite."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return False
    dbapi_connection = connection.connection.dbapi_connection
    if not (isinstance(dbapi_connection, sqlite3.Connection) and dbapi_connection.in_transaction):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return True


def hold_write_lock(*keys: int) -> None:
    """Hold the write lock for ``keys`` (one or two integers) until the transaction ends."""
    if sqlite_write_lock():
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        if len(keys) == 1:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": keys[0]})
        else:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(CAST(:a AS integer), CAST(:b AS integer))"),
                {"a": keys[0], "b": keys[1]},
            )
