"""Migration 0007 (instruments as data) keeps every PHQ-9 and GAD-7 answered before it.

Rows are written with the 0006 schema (reflected, so this test does not depend on today's
models), the database is upgraded, and each row must read the same: answers, score and
severity untouched, version 1 of its instrument, and the engine scoring the stored answers
to the stored total. On SQLite and, in CI's second pass, PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask_migrate import downgrade, upgrade
from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, Numeric, String, Text

from kap.extensions import db
from kap.services.measures.scoring import BUILT_IN, score_answers

BEFORE, AFTER = "0006_session_day", "0007_instruments"

HISTORY = [
    ("phq9", [3, 3, 2, 2, 3, 2, 1, 1, 0], 17, "moderately_severe"),
    ("phq9", [1, 1, 1, 1, 0, 0, 0, 0, 1], 5, "mild"),
    ("gad7", [3, 3, 3, 3, 3, 3, 3], 21, "severe"),
    ("gad7", [0, 0, 0, 0, 0, 0, 0], 0, "minimal"),
]


def _dummy(column):
    """A value for a NOT NULL column without a default, by type."""
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer | Numeric):
        return 0
    if isinstance(kind, DateTime):
        return datetime(2026, 1, 5, 9, tzinfo=UTC)
    if isinstance(kind, JSON):
        return json.dumps([]) if db.engine.dialect.name == "sqlite" else []
    if isinstance(kind, String | Text):
        return f"x{column.name}"[: getattr(kind, "length", None) or 40]
    raise AssertionError(f"no dummy value for {column}")


def _insert(connection, table, **given):
    values = {
        column.name: given[column.name] if column.name in given else _dummy(column)
        for column in table.columns
        if column.name in given
        or not (column.primary_key or column.nullable or column.server_default is not None)
    }
    return connection.execute(table.insert().values(**values)).inserted_primary_key[0]


def test_phq9_and_gad7_history_survives_the_instrument_migration(migration_app):
    upgrade(revision=BEFORE)
    tables = MetaData()
    tables.reflect(db.engine)
    with db.engine.begin() as connection:
        clinic = _insert(connection, tables.tables["clinics"], name="Old Clinic")
        patient = _insert(
            connection,
            tables.tables["users"],
            clinic_id=clinic,
            email="old@example.test",
            role="patient",
        )
        for number, (code, answers, score, severity) in enumerate(HISTORY):
            _insert(
                connection,
                tables.tables["measure_responses"],
                clinic_id=clinic,
                patient_id=patient,
                instrument=code,
                answers=answers,
                score=score,
                severity=severity,
                client_id=f"old-{number}",
                created_at=datetime(2026, 1, 5 + number, 9, tzinfo=UTC),
            )
    db.engine.dispose()

    upgrade(revision=AFTER)
    rows = db.session.execute(
        db.text(
            "SELECT instrument, instrument_version, answers, score, severity, text_answers"
            " FROM measure_responses ORDER BY created_at"
        )
    ).all()
    assert len(rows) == len(HISTORY)
    for row, (code, answers, score, severity) in zip(rows, HISTORY, strict=True):
        stored = row.answers if isinstance(row.answers, list) else json.loads(row.answers)
        assert (row.instrument, row.instrument_version, stored) == (code, 1, answers)
        assert (row.score, row.severity, row.text_answers) == (score, severity, "")
        rescored = score_answers(BUILT_IN[code], stored)
        assert (rescored.score, rescored.severity) == (score, severity)
    db.session.remove()

    # And back: the old schema takes PHQ-9 and GAD-7 rows as they were.
    downgrade(revision=BEFORE)
    assert db.session.execute(db.text("SELECT count(*) FROM measure_responses")).scalar() == 4
    db.session.remove()
