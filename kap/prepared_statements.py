"""PostgreSQL keeps the statements psycopg prepared: a transaction that only read ends in COMMIT.

psycopg prepares a statement on the server once a connection has run it five times
(``prepare_threshold``); the server then parses and plans it once instead of on every run.
But psycopg forgets every prepared statement when a transaction ends in ROLLBACK (a
rollback may undo the tables they were planned against), and every request ended its
transaction that way: Flask-SQLAlchemy closes the session after each request, and closing a
session rolls back whatever it did not commit. So no statement was ever prepared, and every
page's queries were parsed and planned afresh.

A transaction that ran nothing but SELECTs changed nothing, and for PostgreSQL its COMMIT
and its ROLLBACK end it the same way: the locks it took are released, its snapshot is
dropped. So when such a transaction is rolled back, it is committed first (psycopg then
finds nothing to roll back and keeps its statements). Any other statement (an INSERT, an
UPDATE, a DELETE, a savepoint, text that is not a SELECT, a SELECT that sends a notification
or writes a large object) marks the transaction as one that wrote, and it is rolled back
exactly as before; so is a transaction a failed statement aborted. Writes that succeed
commit as they always did.
"""

from __future__ import annotations

import re

import psycopg
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from kap.extensions import db

#: Set on a connection (its ``info``, which lives with the pooled DBAPI connection) when its
#: transaction begins; cleared by the first statement that is not a SELECT.
READ_ONLY = "kap.read_only_transaction"


def init_app(app: Flask) -> None:
    """Watch the transactions of every psycopg engine of ``app`` (SQLite keeps its own path:
    it prepares statements in the driver, whatever the transaction's end)."""
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        if engine.dialect.driver == "psycopg":
            watch(engine)


def watch(engine: Engine) -> None:
    """End ``engine``'s read-only transactions in COMMIT (idempotent)."""
    if event.contains(engine, "begin", _began):
        return
    event.listen(engine, "begin", _began)
    event.listen(engine, "before_cursor_execute", _statement)
    event.listen(engine, "rollback", _rolling_back)


#: Functions a SELECT can call that change what a COMMIT keeps and a ROLLBACK drops: a
#: notification (sent on COMMIT only) and the large-object calls (rows of pg_largeobject).
#: The app calls none of them; a statement that does is taken as one that writes.
WRITING_FUNCTIONS = re.compile(r"\b(?:pg_notify|lo_[a-z0-9_]+)\s*\(", re.IGNORECASE)


def is_read(statement: str) -> bool:
    """Whether ``statement`` only reads: it starts with SELECT (a WITH may hide a write) and
    calls none of the ``WRITING_FUNCTIONS``."""
    return statement.lstrip()[:6].upper() == "SELECT" and not WRITING_FUNCTIONS.search(statement)


def _began(connection: Connection) -> None:
    connection.info[READ_ONLY] = True


def _statement(connection: Connection, cursor, statement: str, *_args) -> None:
    if connection.info.get(READ_ONLY) and not is_read(statement):
        connection.info[READ_ONLY] = False


def _rolling_back(connection: Connection) -> None:
    """Before SQLAlchemy rolls back: commit instead if the transaction only read and is
    still sound. psycopg then finds the connection idle and sends nothing more."""
    if connection.closed or connection.invalidated:
        return  # a lost connection: not even its ``info`` may be read (SQLAlchemy raises)
    if not connection.info.pop(READ_ONLY, False):
        return
    driver = connection.connection.dbapi_connection  # a psycopg connection: see init_app
    if driver.info.transaction_status != TransactionStatus.INTRANS:
        return  # idle (nothing was sent) or aborted by a failed statement: roll back
    try:
        driver.commit()
    except psycopg.Error:
        # The connection failed under us; the rollback that follows meets the same failure
        # and SQLAlchemy handles it there as it always has (the connection is invalidated).
        return
