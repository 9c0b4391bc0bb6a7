"""pytest-alembic's standard checks on the app's migration history, on SQLite and PostgreSQL.

One head; base to head upgrades; the models match what the migrations build (an autogenerate
finds nothing to do); every revision steps down and back up. The fixtures are in conftest.py.
"""

from __future__ import annotations

from pytest_alembic.tests import (  # noqa: F401 - collected as tests of this module
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import inspect


def test_downgrade_to_base_leaves_no_table(alembic_runner, alembic_engine):
    """From head down to base, every migration removes what it made: only alembic's table stays."""
    alembic_runner.migrate_up_to("heads")
    assert {"clinics", "users", "journal_entries", "audit_events"} <= set(
        inspect(alembic_engine).get_table_names()
    )
    alembic_runner.migrate_down_to("base")
    assert set(inspect(alembic_engine).get_table_names()) <= {"alembic_version"}
