"""How the database is asked for a therapist's patients' rows: the care list first, then the
rows by index (people/care_teams.py ``in_care_list``), and a care team's journal reads from
the partial index that holds only what they may read (PostgreSQL, models/journal.py)."""

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from kap.extensions import db
from kap.models import User
from kap.services.journal.entries import readable_entries
from kap.services.people.access import patients_visible_to
from kap.services.people.workspace import unread_shared_entries

CARE_LIST = "(SELECT care_team_members.patient_id \nFROM care_team_members \nWHERE"


def _therapist():
    return db.session.scalar(db.select(User).where(User.email == "therapist@demo.test"))


def test_postgresql_reads_the_care_list_before_the_rows(ctx, people):
    """ANY(ARRAY(care list)) on PostgreSQL, whose planner read IN (care list) as a join and
    scanned whole tables for it; IN on SQLite, which looks the ids up by index already."""
    statement = patients_visible_to(_therapist())
    on_postgresql = str(statement.compile(dialect=postgresql.dialect()))
    on_sqlite = str(statement.compile(dialect=sqlite.dialect()))
    assert f"users.id = ANY (array({CARE_LIST}" in on_postgresql
    assert " IN " not in on_postgresql
    assert f"users.id IN {CARE_LIST}" in on_sqlite


def test_both_forms_find_the_same_patients(ctx, people):
    """Whatever the database, the scope is the care list (the other lane runs the other)."""
    patients = db.session.scalars(patients_visible_to(_therapist())).all()
    assert [patient.email for patient in patients] == ["patient@demo.test"]


def _plan(statement, parameters) -> str:
    """The database's plan for ``statement``, with full scans ruled out on PostgreSQL (the
    test data is too small for its planner to prefer any index otherwise): which index the
    query can use, not which it would choose for a handful of rows."""
    connection = db.session.connection()
    literal = {"literal_binds": True}
    sql = str(statement.params(parameters).compile(connection, compile_kwargs=literal))
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
    return "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize(
    "reads",
    [
        pytest.param(lambda therapist: (unread_shared_entries(), {"therapist_id": therapist.id}),
                     id="the dashboard's unread counts"),
        pytest.param(lambda therapist: (readable_entries(therapist), {}),
                     id="a patient's shared entries"),
    ],
)  # fmt: skip
def test_a_care_teams_reads_find_entries_by_index(ctx, people, reads):
    """On PostgreSQL, by the index of shared, not deleted entries: a query states that
    condition as the index does (``shared``, not ``shared IS true``), or the database cannot
    use it. On SQLite (which has no such index), by the patient's entries, not a scan."""
    statement, parameters = reads(_therapist())
    plan = _plan(statement, parameters)
    if db.session.connection().dialect.name == "postgresql":
        assert "ix_journal_entries_care_team_reads" in plan
    else:
        assert "SEARCH journal_entries USING INDEX ix_journal_entries_patient_created" in plan
