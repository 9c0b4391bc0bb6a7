"""Migrations keep the data already in a database.

The structural checks (one head, base to head, models match migrations, every step down and
back up, nothing left after base) are pytest-alembic's, in tests/integration/migrations/, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

from flask_migrate import downgrade, upgrade

from kap import create_app
from kap.config import TestConfig
from kap.extensions import db


def _config_for(url: str) -> TestConfig:
    class MigrationConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    return MigrationConfig()


def test_sqlite_migrations_keep_existing_data(tmp_path):
    """With the demo seeded, the latest migration steps down and back up, data intact.

    (Batch mode rebuilds tables on SQLite; with foreign keys enforced that used to fail.)
    """
    from alembic.script import ScriptDirectory

    from kap.demo.seed import seed_demo
    from kap.models import User

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
