"""SQL statements per request, counted in-process through the Flask test client.

Used by tests/integration/test_perf.py (small against larger data sets on the test database)
and by ``make bench`` (10 patients against 2,000 on PostgreSQL). A page whose count grows
with the data has an N+1 query somewhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event, func, select

from bench.totp import seconds_to_next_step, totp
from kap.extensions import db
from kap.models import JournalEntry, Role, SessionStatus, TreatmentSession, User


@contextmanager
def counting_statements(engine) -> Iterator[list[str]]:
    """Collect every SQL statement ``engine`` sends while the block runs."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class Subjects:
    """Whom the measured pages are about: the busiest patient of a clinic and their therapist."""

    therapist_email: str
    patient_email: str
    patient_id: int
    session_id: int

    def pages(self) -> dict[str, tuple[str, str]]:
        """Page name → (who views it, path)."""
        therapist, patient = self.therapist_email, self.patient_email
        return {
            "therapist dashboard": (therapist, "/therapist/"),
            "patient timeline": (therapist, f"/therapist/patients/{self.patient_id}"),
            "patient home": (patient, "/patient/"),
            "journal": (patient, "/patient/journal"),
            "session detail (page)": (patient, f"/patient/sessions/{self.session_id}"),
            "session detail (API)": (patient, f"/api/v1/sessions/{self.session_id}"),
        }


def busiest_patient(clinic_id: int) -> Subjects:
    """The clinic's patient with the most journal entries, their therapist and next session."""
    patient_id = db.session.scalar(
        select(JournalEntry.patient_id)
        .where(JournalEntry.clinic_id == clinic_id)
        .group_by(JournalEntry.patient_id)
        .order_by(func.count().desc(), JournalEntry.patient_id)
        .limit(1)
    )
    return subjects_of(patient_id)


def subjects_of(patient_id: int) -> Subjects:
    """A patient, their first therapist and their next session (or their first one)."""
    from kap.models import CareTeamMember

    patient = db.session.get(User, patient_id)
    therapist = db.session.scalar(
        select(User)
        .join(CareTeamMember, CareTeamMember.therapist_id == User.id)
        .where(CareTeamMember.patient_id == patient_id, User.role == Role.THERAPIST)
        .order_by(User.id)
        .limit(1)
    )
    session_id = db.session.scalar(
        select(TreatmentSession.id)
        .where(TreatmentSession.patient_id == patient_id)
        .order_by(
            (TreatmentSession.status == SessionStatus.SCHEDULED).desc(),
            TreatmentSession.scheduled_at,
        )
        .limit(1)
    )
    return Subjects(therapist.email, patient.email, patient_id, session_id)


def sign_in(client, email: str, password: str, totp_secret: str | None) -> None:
    """Sign in through the JSON API, with an authenticator code when the account has one."""
    body = {"email": email, "password": password}
    if totp_secret:
        body["otp"] = totp(totp_secret)
    response = client.post("/api/v1/session", json=body)
    if totp_secret and response.status_code == 401 and "second_factor" in response.text:
        time.sleep(seconds_to_next_step())  # this step's code was used by an earlier sign-in
        body["otp"] = totp(totp_secret)
        response = client.post("/api/v1/session", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code} {response.text}")


def statements_per_page(app, subjects: Subjects, password: str, totp_secret: str) -> dict:
    """Statements of one request to each page (after a first, warming request), per page."""
    clients = {}
    for email in {subjects.therapist_email, subjects.patient_email}:
        clients[email] = app.test_client()
        secret = totp_secret if email == subjects.therapist_email else None
        sign_in(clients[email], email, password, secret)
    counts = {}
    with app.app_context():
        engine = db.engine
    for name, (email, path) in subjects.pages().items():
        client = clients[email]
        first = client.get(path)
        if first.status_code != 200:
            raise RuntimeError(f"{path} answered {first.status_code}")
        with counting_statements(engine) as statements:
            client.get(path)
        counts[name] = len(statements)
    return counts


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.queries SLUG [EMAIL]``: statements per page as JSON for the configured
    database (the bench app's settings, KAP_* from the environment), about SLUG's busiest
    patient or the patient EMAIL. A page's statements depend on where the patient stands
    (mid-course, a session today…), so data sets are compared about patients who stand alike:
    at ten times the data, the same patient number as in the benchmark set (bench.run)."""
    import json
    import sys
    from dataclasses import asdict

    from bench.datagen import BENCH_PASSWORD, BENCH_TOTP_SECRET
    from bench.serve_app import app
    from kap.models import Clinic

    slug, *email = argv if argv is not None else sys.argv[1:]
    with app.app_context():
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == slug))
        if email:
            subjects = subjects_of(db.session.scalar(select(User.id).where(User.email == email[0])))
        else:
            subjects = busiest_patient(clinic_id)
        patients = db.session.scalar(
            select(func.count()).where(User.clinic_id == clinic_id, User.role == Role.PATIENT)
        )
        entries = db.session.scalar(
            select(func.count()).where(JournalEntry.patient_id == subjects.patient_id)
        )
    counts = statements_per_page(app, subjects, BENCH_PASSWORD, BENCH_TOTP_SECRET)
    result = {"patients": patients, "subject_entries": entries, "counts": counts}
    print(json.dumps({**result, "subjects": asdict(subjects)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
