"""Session-day records in the services and the API: check-in, administrations, checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from kap.demo.content import ESKETAMINE_TEMPLATE
from kap.demo.seed import DEMO_CLINICS
from kap.extensions import db
from kap.models import (
    AuditEvent,
    MedicationAdministration,
    SessionObservation,
    SessionStatus,
    SessionTemplate,
    TreatmentSession,
)
from kap.services.board import administrations, check_in, observations
from kap.services.errors import Conflict, Invalid, NotFound
from kap.timezones import local_day_of, start_of_local_day
from tests.helpers import ApiClient, user_by_email

NOW = datetime.now(UTC)
DOSE = {"medication": "Esketamine (Spravato)", "route": "intranasal", "dose": "56", "unit": "mg"}
PRE_DOSE = {"systolic": 128, "diastolic": 82, "heart_rate": 74, "spo2": 98}
STATE = {"sedation": 5, "dissociation": "none", "respiratory_concern": False}


def esketamine_today(patient_email: str = "patient2@demo.test", **changes) -> TreatmentSession:
    """An esketamine session (check-in required, post-dose check at 40) booked for now."""
    patient = user_by_email(patient_email)
    template = db.session.scalar(
        select(SessionTemplate).where(
            SessionTemplate.clinic_id == patient.clinic_id,
            SessionTemplate.name == ESKETAMINE_TEMPLATE,
        )
    )
    session = TreatmentSession(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        template_version_id=template.current_version.id,
        scheduled_at=datetime.now(UTC).replace(second=0, microsecond=0),
        location_label="Room 3",
        **changes,
    )
    db.session.add(session)
    db.session.commit()
    return session


@pytest.fixture
def session_id(ctx, people) -> int:
    return esketamine_today().id


@pytest.fixture
def checked_in_id(ctx, people) -> int:
    """Today's esketamine session, the patient checked in (doses may be recorded)."""
    therapist = user_by_email("therapist@demo.test")
    return esketamine_today(checked_in_at=NOW, checked_in_by_id=therapist.id).id


def _earlier_today(by: timedelta) -> datetime:
    """``by`` before NOW, but never before the clinic's local midnight: a dose is refused off
    the session's day, and NOW may be minutes after midnight in New York."""
    zone = DEMO_CLINICS["demo"][1]
    midnight = start_of_local_day(local_day_of(NOW, zone), zone)
    return NOW - min(by, (NOW - midnight) / 2)


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _given(session_id: int) -> list[MedicationAdministration]:
    query = select(MedicationAdministration).where(
        MedicationAdministration.session_id == session_id
    )
    return list(db.session.scalars(query))


def _readings(session_id: int) -> list[SessionObservation]:
    query = select(SessionObservation).where(SessionObservation.session_id == session_id)
    return list(db.session.scalars(query))


def _pre_dose(session_id: int, email: str = "therapist@demo.test") -> SessionObservation:
    return observations.record_observation(
        user_by_email(email), session_id, kind="pre_dose", values=PRE_DOSE
    )


# --- Check-in ---------------------------------------------------------------------------------


def test_check_in_needs_pre_dose_vitals_first(session_id):
    """Without a pre-dose reading: refused with 'Record pre-dose vitals first', nothing set."""
    with pytest.raises(Conflict, match="Record pre-dose vitals first"):
        check_in.check_in(user_by_email("therapist@demo.test"), session_id, photo_id_checked=True)
    assert db.session.get(TreatmentSession, session_id).checked_in_at is None


def test_check_in_needs_the_photo_id_ticked(session_id):
    """The ID tick is required: a field message, nothing set."""
    _pre_dose(session_id)
    with pytest.raises(Invalid) as refused:
        check_in.check_in(user_by_email("therapist@demo.test"), session_id, photo_id_checked=False)
    assert "photo_id_checked" in refused.value.fields
    assert db.session.get(TreatmentSession, session_id).checked_in_at is None


def test_staff_check_in_is_recorded_once_and_audited(session_id, people):
    """therapist2 (outside the care team) checks in; a second check-in keeps the first."""
    _pre_dose(session_id)
    colleague = user_by_email("therapist2@demo.test")
    session = check_in.check_in(colleague, session_id, photo_id_checked=True, now=NOW)
    assert session.checked_in_at == NOW
    assert session.checked_in_by_id == colleague.id
    check_in.check_in(user_by_email("admin@demo.test"), session_id, photo_id_checked=True)
    session = db.session.get(TreatmentSession, session_id)
    assert session.checked_in_by_id == colleague.id
    (event,) = _audit("session.check_in")
    assert (event.actor_id, event.subject_id, event.patient_id) == (
        colleague.id,
        session_id,
        people["patient2@demo.test"].id,
    )


def test_check_in_only_on_the_session_day(session_id):
    """The next day in the clinic's zone is refused with code not_today."""
    _pre_dose(session_id)
    tomorrow = NOW + timedelta(days=1)
    with pytest.raises(Conflict) as refused:
        check_in.check_in(
            user_by_email("therapist@demo.test"), session_id, photo_id_checked=True, now=tomorrow
        )
    assert refused.value.code == "not_today"


@pytest.mark.parametrize("state", ["cancelled", "discharged", "dosed"])
def test_check_in_is_refused_once_cancelled_discharged_or_dosed(session_id, state):
    """A closed session, or one already dosed, cannot be checked in."""
    _pre_dose(session_id)
    session = db.session.get(TreatmentSession, session_id)
    if state == "cancelled":
        session.status = SessionStatus.CANCELLED
    elif state == "discharged":
        session.discharged_at = NOW
    else:
        session.session_started_at = NOW
    db.session.commit()
    with pytest.raises(Conflict):
        check_in.check_in(user_by_email("therapist@demo.test"), session_id, photo_id_checked=True)
    assert db.session.get(TreatmentSession, session_id).checked_in_at is None


@pytest.mark.parametrize("email", ["patient2@demo.test", "therapist@other.test"])
def test_only_the_clinics_staff_can_check_in(session_id, email):
    """The patient and another clinic's staff find no such session."""
    _pre_dose(session_id)
    with pytest.raises(NotFound):
        check_in.check_in(user_by_email(email), session_id, photo_id_checked=True)


# --- Administrations ----------------------------------------------------------------------------


def test_a_dose_is_stored_as_the_exact_decimal_typed(checked_in_id):
    """0.125 mg/kg is kept as Decimal('0.125'), never as a float."""
    given = administrations.record_administration(
        user_by_email("therapist@demo.test"),
        checked_in_id,
        {**DOSE, "medication": "Ketamine", "route": "iv", "dose": "0.125", "unit": "mg/kg"},
    )
    db.session.expire_all()
    stored = db.session.get(MedicationAdministration, given.id)
    assert stored.dose == Decimal("0.125") and isinstance(stored.dose, Decimal)
    assert administrations.dose_number(stored.dose) == 0.125
    assert administrations.dose_number(Decimal("56.000")) == 56


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"dose": "0"}, "dose"),
        ({"dose": "-5"}, "dose"),
        ({"dose": "1.2345"}, "dose"),
        ({"dose": "100000"}, "dose"),
        ({"dose": "abc"}, "dose"),
        ({"dose": "NaN"}, "dose"),
        ({"dose": "Infinity"}, "dose"),
        ({"dose": True}, "dose"),
        ({"dose": None}, "dose"),
        ({"dose": ""}, "dose"),
        ({"unit": "g"}, "unit"),
        ({"unit": None}, "unit"),
        ({"route": "nasal"}, "route"),
        ({"route": ["iv"]}, "route"),
        ({"medication": "  "}, "medication"),
        ({"medication": "x" * 121}, "medication"),
        ({"lot": "x" * 61}, "lot"),
        ({"note": "x" * 501}, "note"),
        ({"at": NOW + timedelta(minutes=6)}, "at"),
        ({"at": NOW - timedelta(days=1)}, "at"),
    ],
)
def test_an_administration_with_a_bad_value_is_refused_by_field(checked_in_id, changes, field):
    """Each rule names its field; nothing is recorded."""
    with pytest.raises(Invalid) as refused:
        administrations.record_administration(
            user_by_email("therapist@demo.test"), checked_in_id, {**DOSE, **changes}, now=NOW
        )
    assert field in refused.value.fields
    assert _given(checked_in_id) == []


def test_a_time_given_a_few_minutes_ahead_is_accepted(checked_in_id):
    """Clocks drift: up to 5 minutes ahead of the server is fine."""
    at = NOW + timedelta(minutes=4)
    given = administrations.record_administration(
        user_by_email("therapist@demo.test"), checked_in_id, {**DOSE, "at": at}, now=NOW
    )
    assert given.given_at == at


@pytest.mark.parametrize("state", ["cancelled", "discharged"])
def test_no_administration_once_cancelled_or_discharged(session_id, state):
    """A cancelled or discharged session's record is closed: 409."""
    session = db.session.get(TreatmentSession, session_id)
    if state == "cancelled":
        session.status = SessionStatus.CANCELLED
    else:
        session.discharged_at = NOW
    db.session.commit()
    with pytest.raises(Conflict):
        administrations.record_administration(user_by_email("admin@demo.test"), session_id, DOSE)


@pytest.mark.parametrize("email", ["patient2@demo.test", "admin@other.test"])
def test_only_the_clinics_clinicians_record_administrations(session_id, email):
    """A patient (even the session's own) and another clinic find no such session."""
    with pytest.raises(NotFound):
        administrations.record_administration(user_by_email(email), session_id, DOSE)


def test_a_booster_dose_is_a_second_record(checked_in_id):
    """Several per session, in the order given."""
    therapist = user_by_email("therapist@demo.test")
    administrations.record_administration(
        therapist, checked_in_id, {**DOSE, "at": _earlier_today(timedelta(minutes=30))}
    )
    administrations.record_administration(
        therapist, checked_in_id, {**DOSE, "dose": "28", "at": NOW}
    )
    doses = [g.dose for g in administrations.administrations_of([checked_in_id])[checked_in_id]]
    assert doses == [Decimal("56"), Decimal("28")]


# --- Monitoring checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, values, note, fields",
    [
        ("post_dose", PRE_DOSE, "", {"sedation", "dissociation", "respiratory_concern"}),
        ("final", {**PRE_DOSE, **STATE, "heart_rate": None}, "", {"heart_rate"}),
        ("check", {}, "", {"note"}),
        ("check", {"systolic": 130}, "", {"diastolic"}),
        ("check", {"sedation": 6}, "", {"sedation"}),
        ("check", {"dissociation": "extreme"}, "", {"dissociation"}),
        ("pre_dose", {"systolic": 130, "diastolic": 80}, "", {"heart_rate"}),
        ("later", PRE_DOSE, "", {"kind"}),
    ],
)
def test_each_kind_needs_its_fields(checked_in_id, kind, values, note, fields):
    """pre-dose/post-dose/final need vitals; post-dose/final the state; a check anything."""
    if kind != "pre_dose":  # pre-dose readings come before dosing
        administrations.record_administration(
            user_by_email("therapist@demo.test"), checked_in_id, DOSE
        )
    with pytest.raises(Invalid) as refused:
        observations.record_observation(
            user_by_email("therapist@demo.test"), checked_in_id, kind=kind, values=values, note=note
        )
    assert set(refused.value.fields) == fields


@pytest.mark.parametrize("kind", ["post_dose", "check", "final"])
def test_after_dosing_kinds_wait_for_dosing(session_id, kind):
    """Before any administration or start, only pre-dose readings are taken."""
    with pytest.raises(Invalid) as refused:
        observations.record_observation(
            user_by_email("therapist@demo.test"),
            session_id,
            kind=kind,
            values={**PRE_DOSE, **STATE},
        )
    assert "taken after dosing" in refused.value.fields["kind"][0]


def test_an_administration_counts_as_dosing_before_the_patient_presses_start(checked_in_id):
    """Staff recorded the dose: a post-dose check is accepted though the phone never started."""
    therapist = user_by_email("therapist@demo.test")
    administrations.record_administration(therapist, checked_in_id, DOSE)
    reading = observations.record_observation(
        therapist, checked_in_id, kind="post_dose", values={**PRE_DOSE, **STATE, "sedation": 4}
    )
    assert (reading.kind, reading.sedation, reading.respiratory_concern) == ("post_dose", 4, False)
    (event,) = _audit("session.vitals")
    assert event.detail == "kind=post_dose; attention=sedation"


# --- The API ----------------------------------------------------------------------------------


def _post(api: ApiClient, path: str, body: dict):
    return api.post(path, json=body)


def test_api_records_an_administration(api_as, app, checked_in_id, people):
    """201 with the DESIGN §4 shape; the dose a JSON number; audited with the actor, no note."""
    api = api_as("therapist2@demo.test")
    at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    body = {**DOSE, "dose": 56, "lot": "DEMO-1", "at": at, "note": "Two devices."}
    response = _post(api, f"/api/v1/sessions/{checked_in_id}/administrations", body)
    assert response.status_code == 201, response.json
    given = response.json["administration"]
    colleague = people["therapist2@demo.test"]
    assert given == {
        "id": given["id"],
        "medication": "Esketamine (Spravato)",
        "route": "intranasal",
        "dose": 56,
        "unit": "mg",
        "lot": "DEMO-1",
        "at": at,
        "given_by": {"id": colleague.id, "name": "Dr. Sam Okafor"},
    }
    with app.app_context():
        (event,) = _audit("session.administration")
        assert event.actor_id == colleague.id and event.subject_id == given["id"]
        assert (
            event.detail == "medication=Esketamine (Spravato); dose=56; unit=mg; route=intranasal"
        )
        assert db.session.get(MedicationAdministration, given["id"]).note == "Two devices."


def test_api_keeps_a_fractional_dose_a_number(api_as, checked_in_id):
    """0.5 mg/kg comes back as 0.5."""
    body = {**DOSE, "route": "im", "dose": 0.5, "unit": "mg/kg"}
    response = _post(
        api_as("admin@demo.test"), f"/api/v1/sessions/{checked_in_id}/administrations", body
    )
    assert response.status_code == 201 and response.json["administration"]["dose"] == 0.5


def test_api_refuses_an_invalid_administration_with_fields(api_as, checked_in_id):
    """400 in the error format, naming every field at fault."""
    body = {"medication": "", "route": "nose", "dose": -1, "unit": "g", "at": "yesterday"}
    response = _post(
        api_as("therapist@demo.test"), f"/api/v1/sessions/{checked_in_id}/administrations", body
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert set(response.json["error"]["fields"]) == {"at"}  # the time is read first
    body["at"] = None
    response = _post(
        api_as("therapist@demo.test"), f"/api/v1/sessions/{checked_in_id}/administrations", body
    )
    assert set(response.json["error"]["fields"]) == {"medication", "route", "dose", "unit"}


@pytest.mark.parametrize(
    "email, status",
    [
        ("patient2@demo.test", 403),
        ("patient@demo.test", 403),
        ("therapist@other.test", 404),
        ("admin@other.test", 404),
    ],
)
@pytest.mark.parametrize("path", ["administrations", "checks"])
def test_api_records_are_for_the_clinics_clinicians(api_as, app, session_id, email, status, path):
    """A patient gets 403 (even the session's own), another clinic 404; nothing recorded."""
    body = {**DOSE, "kind": "pre_dose", **PRE_DOSE}
    response = _post(api_as(email), f"/api/v1/sessions/{session_id}/{path}", body)
    assert response.status_code == status
    with app.app_context():
        assert _given(session_id) == [] and _readings(session_id) == []


def test_api_records_a_check_with_its_flags(api_as, app, checked_in_id, people):
    """201 with every field; out-of-range vitals and what needs attention are flagged."""
    api = api_as("therapist@demo.test")
    _post(api, f"/api/v1/sessions/{checked_in_id}/administrations", DOSE)
    body = {
        "kind": "post_dose",
        "systolic": 172,
        "diastolic": 88,
        "heart_rate": 80,
        "spo2": 97,
        "sedation": 3,
        "dissociation": "moderate",
        "respiratory_concern": True,
        "note": "Shallow breathing; sat up.",
    }
    response = _post(api, f"/api/v1/sessions/{checked_in_id}/checks", body)
    assert response.status_code == 201, response.json
    check = response.json["check"]
    assert check["recorded_at"].endswith("Z")
    assert check["recorded_by"] == {
        "id": people["therapist@demo.test"].id,
        "name": "Dr. Tess Rivera",
    }
    assert {k: check[k] for k in body} == body
    assert check["flags"] == {
        "systolic": "high",
        "sedation": "attention",
        "dissociation": "attention",
        "respiratory_concern": "attention",
    }
    with app.app_context():
        (event,) = _audit("session.vitals")
        assert event.detail == (
            "kind=post_dose; out_of_range=systolic_high; "
            "attention=sedation,dissociation,respiratory_concern"
        )
        assert "Shallow" not in event.detail


def test_api_check_without_vitals_is_audited_as_a_check(api_as, app, checked_in_id):
    """A check of sedation and a note alone: session.check, flags empty."""
    api = api_as("admin@demo.test")
    _post(api, f"/api/v1/sessions/{checked_in_id}/administrations", DOSE)
    response = _post(
        api,
        f"/api/v1/sessions/{checked_in_id}/checks",
        {"kind": "check", "sedation": 5, "note": "Resting"},
    )
    assert response.status_code == 201
    assert response.json["check"]["flags"] == {}
    assert response.json["check"]["systolic"] is None
    with app.app_context():
        assert [e.detail for e in _audit("session.check")] == ["kind=check"]


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"kind"}),
        ({"kind": "post_dose", **PRE_DOSE}, {"sedation", "dissociation", "respiratory_concern"}),
        ({"kind": "check", "sedation": "5"}, {"sedation"}),
        ({"kind": "check", "respiratory_concern": "no"}, {"respiratory_concern"}),
        ({"kind": "pre_dose", **PRE_DOSE, "systolic": 400}, {"systolic"}),
    ],
)
def test_api_refuses_an_invalid_check_with_fields(api_as, app, checked_in_id, body, fields):
    """400 naming the fields; nothing recorded."""
    api = api_as("therapist@demo.test")
    if body.get("kind") != "pre_dose":  # pre-dose readings come before dosing
        _post(api, f"/api/v1/sessions/{checked_in_id}/administrations", DOSE)
    response = _post(api, f"/api/v1/sessions/{checked_in_id}/checks", body)
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == fields
    with app.app_context():
        assert _readings(checked_in_id) == []


def test_api_refuses_records_on_a_discharged_session(api_as, app, session_id):
    """409 once the patient is discharged."""
    with app.app_context():
        db.session.get(TreatmentSession, session_id).discharged_at = NOW
        db.session.commit()
    api = api_as("therapist@demo.test")
    assert _post(api, f"/api/v1/sessions/{session_id}/administrations", DOSE).status_code == 409
    body = {"kind": "pre_dose", **PRE_DOSE}
    assert _post(api, f"/api/v1/sessions/{session_id}/checks", body).status_code == 409


# --- A dose belongs to its session's day and follows check-in -------------------------------


def _at_local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A moment on the clinic's clock (New York), ``day_offset`` days from today there."""
    from kap.timezones import local_to_utc, to_local

    today = to_local(NOW, "America/New_York").date()
    clock = datetime(2000, 1, 1, hour, minute).time()
    return local_to_utc(today + timedelta(days=day_offset), clock, "America/New_York")


def _booked(at: datetime, *, checked_in: bool) -> int:
    session = esketamine_today()
    session.scheduled_at = at
    if checked_in:
        session.checked_in_at = at + timedelta(minutes=10)
        session.checked_in_by_id = user_by_email("therapist@demo.test").id
    db.session.commit()
    return session.id


def test_staff_cannot_record_a_dose_on_a_session_six_days_ago(ctx, people):
    """A checked-in session booked six days ago: 409 not_today, nothing recorded."""
    booked = NOW - timedelta(days=6)
    session_id = _booked(booked, checked_in=True)
    with pytest.raises(Conflict) as refused:
        administrations.record_administration(
            user_by_email("therapist@demo.test"),
            session_id,
            {**DOSE, "at": booked + timedelta(hours=1)},
        )
    assert refused.value.code == "not_today"
    assert _given(session_id) == []


def test_staff_cannot_record_a_dose_on_a_session_booked_for_tomorrow(ctx, people):
    """Tomorrow's session: 409 not_today."""
    session_id = _booked(NOW + timedelta(days=1), checked_in=False)
    db.session.get(TreatmentSession, session_id).checked_in_at = NOW
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        administrations.record_administration(
            user_by_email("therapist@demo.test"), session_id, DOSE
        )
    assert refused.value.code == "not_today"


def test_a_session_under_way_at_midnight_takes_its_dose_after_midnight(ctx, people):
    """Checked in at 23:40 last night: a dose at 00:20 is recorded; a session booked for last
    night that never got under way is refused."""
    now = _at_local(0, 0, 20)
    under_way = _booked(_at_local(-1, 23, 30), checked_in=True)
    given = administrations.record_administration(
        user_by_email("therapist@demo.test"), under_way, DOSE, now=now
    )
    assert given.given_at == now
    idle = _booked(_at_local(-1, 23, 30), checked_in=False)
    db.session.get(TreatmentSession, idle).template_version.requires_check_in = False
    with pytest.raises(Conflict) as refused:
        administrations.record_administration(
            user_by_email("therapist@demo.test"), idle, DOSE, now=now
        )
    assert refused.value.code == "not_today"


def test_a_dose_time_outside_the_sessions_day_and_the_night_after_is_refused_by_field(ctx, people):
    """Booked for 23:30 last night and checked in; at 23:58 tonight a time given the day
    before the session, or at 00:02 tomorrow (past the carry-over, within the 5 minutes of
    clock drift) is refused beside 'at'; 23:57 tonight is recorded."""
    session_id = _booked(_at_local(-1, 23, 30), checked_in=True)
    now = _at_local(0, 23, 58)
    therapist = user_by_email("therapist@demo.test")
    for at in (_at_local(-2, 23, 59), _at_local(1, 0, 2)):
        with pytest.raises(Invalid) as refused:
            administrations.record_administration(
                therapist, session_id, {**DOSE, "at": at}, now=now
            )
        assert "at" in refused.value.fields
    assert _given(session_id) == []
    at = _at_local(0, 23, 57)
    assert (
        administrations.record_administration(
            therapist, session_id, {**DOSE, "at": at}, now=now
        ).given_at
        == at
    )


def test_staff_cannot_dose_before_check_in_when_the_template_requires_it(session_id):
    """Esketamine requires check-in: a dose before it is refused (409), so check-in and the
    patient's Start are never locked out by an early dose; after check-in it is recorded."""
    therapist = user_by_email("therapist@demo.test")
    with pytest.raises(Conflict) as refused:
        administrations.record_administration(therapist, session_id, DOSE)
    assert refused.value.code == "check_in_required"
    assert refused.value.message == "Check the patient in first (ID, pre-dose vitals)."
    assert _given(session_id) == []
    _pre_dose(session_id)
    check_in.check_in(therapist, session_id, photo_id_checked=True)
    assert administrations.record_administration(therapist, session_id, DOSE).id


def test_staff_cannot_record_a_pre_dose_reading_after_dosing(checked_in_id):
    """Once dosed, a 'pre-dose' reading would pass a post-dose BP off as before dosing."""
    therapist = user_by_email("therapist@demo.test")
    administrations.record_administration(therapist, checked_in_id, DOSE)
    with pytest.raises(Invalid) as refused:
        observations.record_observation(therapist, checked_in_id, kind="pre_dose", values=PRE_DOSE)
    assert "already been dosed" in refused.value.fields["kind"][0]
    assert _readings(checked_in_id) == []


@pytest.mark.parametrize("state", ["cancelled", "discharged"])
def test_an_invalid_reading_on_a_closed_session_gets_409(session_id, state):
    """A cancelled or discharged session says so first (409), not which value is wrong."""
    session = db.session.get(TreatmentSession, session_id)
    if state == "cancelled":
        session.status = SessionStatus.CANCELLED
    else:
        session.discharged_at = NOW
    db.session.commit()
    with pytest.raises(Conflict):
        observations.record_observation(
            user_by_email("therapist@demo.test"),
            session_id,
            kind="pre_dose",
            values={"systolic": 400},
        )


@pytest.mark.parametrize("level, flagged", [("none", False), ("mild", False), ("moderate", True)])
def test_moderate_or_severe_dissociation_is_flagged_for_attention(checked_in_id, level, flagged):
    """As discharge treats it: moderate/severe dissociation is 'attention', mild is not."""
    from kap.services.board.vitals import observation_flags, vitals_limits

    therapist = user_by_email("therapist@demo.test")
    administrations.record_administration(therapist, checked_in_id, DOSE)
    reading = observations.record_observation(
        therapist, checked_in_id, kind="check", values={"dissociation": level}
    )
    flags = observation_flags(reading, vitals_limits(therapist.clinic))
    assert (flags.get("dissociation") == "attention") is flagged


@pytest.mark.parametrize("score", range(6))
def test_board_and_printed_record_word_each_sedation_score_alike(score):
    """One wording of MOAA/S: the board row and the printed record say the same."""
    from kap.services.board.clinical_scales import sedation_text
    from kap.services.board.records import state_words

    ((board_text, _),) = state_words(SessionObservation(sedation=score))
    printed = sedation_text(score).split(": ", 1)[1]
    assert board_text == f"Sedation {score} ({printed})"


def test_api_refuses_a_dose_before_check_in_with_409(api_as, app, session_id):
    """The API says why in the error format: 409 check_in_required; nothing recorded."""
    api = api_as("therapist@demo.test")
    response = _post(api, f"/api/v1/sessions/{session_id}/administrations", DOSE)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "check_in_required"
    assert response.json["error"]["message"] == "Check the patient in first (ID, pre-dose vitals)."
    with app.app_context():
        assert _given(session_id) == []
