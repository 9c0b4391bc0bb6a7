"""Migrations: an empty database upgrades to head, matches the models, and downgrades to base.

Runs on SQLite always, and on PostgreSQL in a throwaway database when KAP_TEST_DATABASE_URL
names a PostgreSQL server.
"""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from kap import create_app
from kap.config import TestConfig
from kap.extensions import db


def _config_for(url: str) -> TestConfig:
    class MigrationConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    return MigrationConfig()


def _round_trip(url: str) -> None:
    app = create_app(_config_for(url))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"clinics", "users", "care_team_members", "auth_sessions"} <= tables
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == [], f"models and migrations differ: {differences}"
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_sqlite_upgrade_to_head_and_back(tmp_path):
    """On SQLite, an empty file upgrades to head, matches the models, and returns to empty."""
    _round_trip(f"sqlite:///{tmp_path / 'migrate.db'}")


def _postgres_server_url() -> str | None:
    url = os.environ.get("KAP_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.mark.skipif(not _postgres_server_url(), reason="KAP_TEST_DATABASE_URL is not PostgreSQL")
def test_postgresql_upgrade_to_head_and_back():
    """On PostgreSQL, a fresh database upgrades to head, matches the models, and returns."""
    server = make_url(_postgres_server_url())
    name = f"kap_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(server.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_sqlite_migrations_keep_existing_data(tmp_path):
    """With the demo seeded, the latest migration steps down and back up, data intact.

    (Batch mode rebuilds tables on SQLite; with foreign keys enforced that used to fail.)
    """
    from alembic.script import ScriptDirectory

    from kap.models import User
    from kap.services.demo import seed_demo

    app = create_app(_config_for(f"sqlite:///{tmp_path / 'data.db'}"))
    with app.app_context():
        upgrade()
        seed_demo()
        users = db.session.scalar(db.select(db.func.count()).select_from(User))
        db.session.remove()
        config = app.extensions["migrate"].migrate.get_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        previous = ScriptDirectory.from_config(config).get_revision(head).down_revision
        downgrade(revision=previous)
        upgrade()
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == users
        db.engine.dispose()
