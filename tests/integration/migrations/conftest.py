"""pytest-alembic wired to the app's own Flask-Migrate history (migrations/ and its env.py).

``env.py`` takes its engine and models from ``current_app``, so each test runs inside an app
context whose database is a fresh one: a SQLite file always, and a throwaway PostgreSQL
database when KAP_TEST_DATABASE_URL names a PostgreSQL server (as in .ci/run's second pass).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from kap import create_app
from kap.config import TestConfig
from kap.extensions import db


def postgres_server_url() -> str | None:
    """KAP_TEST_DATABASE_URL when it names a PostgreSQL server, else None."""
    url = os.environ.get("KAP_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


def app_on(url: str) -> Flask:
    """The app with TestConfig, on the database at ``url``."""

    class MigrationConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    return create_app(MigrationConfig())


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """An empty SQLite file (a file, not memory: migrations open several connections)."""
    return f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A PostgreSQL database created for this test and dropped after it."""
    server = postgres_server_url()
    if server is None:
        pytest.skip("KAP_TEST_DATABASE_URL is not PostgreSQL")
    server_url = make_url(server)
    name = f"kap_alembic_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def migration_app(request) -> Iterator[Flask]:
    """The app in an app context, on an empty database of each kind."""
    url = request.getfixturevalue(f"{request.param}_url")
    app = app_on(url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def alembic_config(migration_app):
    """The alembic Config Flask-Migrate builds: migrations/alembic.ini and migrations/env.py."""
    return migration_app.extensions["migrate"].migrate.get_config()


@pytest.fixture
def alembic_engine(migration_app) -> Engine:
    """The app's own engine: the one env.py migrates through current_app."""
    return db.engine
