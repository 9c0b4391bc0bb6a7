"""Discharge rules as a service (kap/services/board/discharge.py): blockers, override, reopening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from kap.extensions import db
from kap.models import (
    AuditEvent,
    Clinic,
    MedicationAdministration,
    SessionObservation,
    SessionStatus,
    TreatmentSession,
    User,
)
from kap.services.board import discharge
from kap.services.board.monitoring import clock_time
from kap.services.errors import Conflict, Invalid, NotFound

NOW = datetime.now(UTC).replace(microsecond=0)
DRIVER = "Alex Jordan (partner)"
REASON = "Seen by Dr. Rivera; BP 182/108 is her usual; GP informed."
OUT_OF_RANGE = dict(systolic=182, diastolic=108, heart_rate=125, spo2=90)
IN_RANGE = dict(systolic=124, diastolic=78, heart_rate=72, spo2=98)
OUT_MESSAGE = (
    "Final vitals are outside the clinic's limits: BP 182/108 (high), heart rate 125 (high), "
    "SpO2 90% (low). Record new vitals, or write why the patient may leave anyway."
)


@pytest.fixture
def clinician(ctx, people) -> User:
    return db.session.get(User, people["therapist2@demo.test"].id)


@pytest.fixture
def session(ctx, people) -> TreatmentSession:
    """The demo patient's Walkthrough session today (observation: 5 minutes), not started."""
    return db.session.scalar(
        select(TreatmentSession).where(
            TreatmentSession.patient_id == people["patient@demo.test"].id,
            TreatmentSession.status == SessionStatus.SCHEDULED,
            TreatmentSession.scheduled_at <= NOW + timedelta(hours=1),
            TreatmentSession.scheduled_at >= NOW - timedelta(hours=1),
        )
    )


def _dose(session: TreatmentSession, minutes_ago: float) -> None:
    session.status = SessionStatus.DOWNTIME
    session.session_started_at = NOW - timedelta(minutes=minutes_ago)
    db.session.commit()


def _observe(session: TreatmentSession, kind: str, minutes_ago: float, **values) -> None:
    db.session.add(
        SessionObservation(
            session_id=session.id,
            clinic_id=session.clinic_id,
            kind=kind,
            recorded_at=NOW - timedelta(minutes=minutes_ago),
            **values,
        )
    )
    db.session.commit()


def _blockers(user, session, **answers) -> dict[str, list[str]]:
    with pytest.raises(Conflict) as refused:
        discharge.discharge(user, session.id, now=NOW, **answers)
    assert refused.value.code == "discharge_blocked"
    db.session.rollback()
    assert db.session.get(TreatmentSession, session.id).discharged_at is None
    assert discharge.discharges_of(session.id) == []
    return refused.value.fields


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- Each blocker alone, and all together ---------------------------------------------------


def test_observation_still_running_blocks_alone(clinician, session):
    """Dosed 2 minutes ago, good final vitals, a driver: only the observation time blocks."""
    _dose(session, 2)
    _observe(session, "final", 1, **IN_RANGE)
    fields = _blockers(clinician, session, driver=DRIVER)
    assert list(fields) == ["observation"]
    assert fields["observation"][0].startswith("Observation runs until")
    assert "(3 min left)" in fields["observation"][0]


def test_missing_final_check_blocks_alone(clinician, session):
    """Observation over, a driver, but only an observation check: final vitals block."""
    _dose(session, 10)
    _observe(session, "check", 1)
    fields = _blockers(clinician, session, driver=DRIVER)
    assert fields == {
        "final_vitals": ["Record a final vitals check (none since observation began)."]
    }


def test_out_of_range_final_without_a_reason_blocks_alone(clinician, session):
    """182/108, HR 125, SpO2 90: the override reason is the only blocker, naming each value."""
    _dose(session, 10)
    _observe(session, "final", 1, **OUT_OF_RANGE)
    assert _blockers(clinician, session, driver=DRIVER) == {"override_reason": [OUT_MESSAGE]}


def test_missing_driver_blocks_alone(clinician, session):
    """Everything clear but the ride home: the driver blocks (blank is not a driver)."""
    _dose(session, 10)
    _observe(session, "final", 1, **IN_RANGE)
    fields = _blockers(clinician, session, driver="   ")
    assert list(fields) == ["driver"]


def test_every_blocker_at_once_before_dosing(clinician, session):
    """Not started, no driver: observation, final vitals and driver, all in one answer."""
    fields = _blockers(clinician, session)
    assert list(fields) == ["observation", "final_vitals", "driver"]


def test_every_blocker_at_once_with_out_of_range_vitals(clinician, session):
    """Observation running, out-of-range final, no reason, no driver: three keys at once."""
    _dose(session, 2)
    _observe(session, "final", 1, **OUT_OF_RANGE)
    fields = _blockers(clinician, session)
    assert list(fields) == ["observation", "override_reason", "driver"]
    assert fields["override_reason"] == [OUT_MESSAGE]


# --- The override ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["ok", "Seen, ok.", "         short     "])
def test_a_short_override_reason_is_refused(clinician, session, reason):
    """Under 10 characters (trimmed) is not a reason: 409 on override_reason, nothing written."""
    _dose(session, 10)
    _observe(session, "final", 1, **OUT_OF_RANGE)
    fields = _blockers(clinician, session, driver=DRIVER, override_reason=reason)
    assert list(fields) == ["override_reason"]
    assert "at least 10 characters" in fields["override_reason"][0]


def test_override_is_stored_audited_and_never_logged(clinician, session):
    """With a reason: discharged; the reason and out-of-range list kept; audit has no reason."""
    _dose(session, 10)
    _observe(session, "final", 1, **OUT_OF_RANGE)
    done, record = discharge.discharge(
        clinician, session.id, driver=f"  {DRIVER} ", override_reason=REASON, now=NOW
    )
    assert done.discharged_at == NOW and done.discharged_by_id == clinician.id
    db.session.expire_all()
    (record,) = discharge.discharges_of(session.id)
    assert record.driver == DRIVER
    assert record.out_of_range == "systolic_high,diastolic_high,heart_rate_high,spo2_low"
    assert record.override_reason == REASON
    raw = db.session.execute(text("SELECT override_reason FROM session_discharges")).scalar()
    assert REASON not in raw  # encrypted at rest
    (event,) = _audit("session.discharge")
    assert event.detail == (
        "override=yes; out_of_range=systolic_high,diastolic_high,heart_rate_high,spo2_low"
    )
    assert "182" not in event.detail and "usual" not in event.detail
    assert event.subject_id == session.id and event.patient_id == session.patient_id


def test_a_reason_is_not_stored_when_nothing_was_overridden(clinician, session):
    """Final vitals within limits: discharged without an override; a stray reason is dropped."""
    _dose(session, 10)
    _observe(session, "final", 1, **IN_RANGE)
    _, record = discharge.discharge(
        clinician, session.id, driver=DRIVER, override_reason=REASON, now=NOW
    )
    assert (record.out_of_range, record.override_reason) == ("", "")
    assert _audit("session.discharge")[0].detail == "override=no"


@pytest.mark.parametrize(
    "state, code",
    [
        ({"sedation": 3}, "sedation_3"),
        ({"sedation": 4}, "sedation_4"),
        ({"dissociation": "moderate"}, "dissociation_moderate"),
        ({"dissociation": "severe"}, "dissociation_severe"),
        ({"respiratory_concern": True}, "respiratory_concern"),
    ],
)
def test_sedation_dissociation_and_breathing_need_an_override(clinician, session, state, code):
    """Normal vitals but a sedated, dissociated or breathing-impaired patient: no one-click."""
    _dose(session, 10)
    _observe(session, "final", 1, **IN_RANGE, **state)
    fields = _blockers(clinician, session, driver=DRIVER)
    assert list(fields) == ["override_reason"]
    assert fields["override_reason"][0].startswith("The final check is not clear for discharge")
    _, record = discharge.discharge(
        clinician, session.id, driver=DRIVER, override_reason=REASON, now=NOW
    )
    assert record.out_of_range == code


@pytest.mark.parametrize(
    "state",
    [
        {"sedation": 5, "dissociation": "mild", "respiratory_concern": False},
        {"sedation": None, "dissociation": None, "respiratory_concern": None},
        {"dissociation": "none"},
    ],
)
def test_a_clear_or_unrecorded_state_needs_no_override(clinician, session, state):
    """MOAA/S 5, dissociation none or mild, no breathing concern (or not recorded): clear."""
    _dose(session, 10)
    _observe(session, "final", 1, **IN_RANGE, **state)
    _, record = discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    assert record.out_of_range == ""


def test_the_latest_final_check_is_the_one_that_counts(clinician, session):
    """An out-of-range final, then a good one: clear. A good one, then a bad one: not."""
    _dose(session, 20)
    _observe(session, "final", 5, **OUT_OF_RANGE)
    _observe(session, "final", 1, **IN_RANGE)
    _, record = discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    assert record.out_of_range == ""


def test_a_later_out_of_range_final_overrules_an_earlier_good_one(clinician, session):
    """Good final first, bad final last: the override is needed."""
    _dose(session, 20)
    _observe(session, "final", 5, **IN_RANGE)
    _observe(session, "final", 1, **OUT_OF_RANGE)
    assert list(_blockers(clinician, session, driver=DRIVER)) == ["override_reason"]


def test_a_final_check_without_blood_pressure_is_not_final_vitals(clinician, session):
    """A 'final' with no BP or heart rate cannot clear a patient."""
    _dose(session, 10)
    _observe(session, "final", 1, spo2=98, sedation=5)
    fields = _blockers(clinician, session, driver=DRIVER)
    assert list(fields) == ["final_vitals"]
    assert "no blood pressure or heart rate" in fields["final_vitals"][0]


def test_a_final_check_before_a_booster_dose_does_not_count(clinician, session):
    """A dose recorded after the final check: a new final check is needed."""
    _dose(session, 30)
    _observe(session, "final", 10, **IN_RANGE)
    db.session.add(
        MedicationAdministration(
            session_id=session.id,
            clinic_id=session.clinic_id,
            medication="Esketamine (Spravato)",
            route="intranasal",
            dose=Decimal("28"),
            unit="mg",
            given_at=NOW - timedelta(minutes=5),
            given_by_id=None,
        )
    )
    db.session.commit()
    assert "final_vitals" in _blockers(clinician, session, driver=DRIVER)


@pytest.mark.parametrize(
    "answers, field",
    [
        ({"driver": "x" * 121}, "driver"),
        ({"driver": DRIVER, "override_reason": "y" * 1001}, "override_reason"),
    ],
)
def test_text_that_is_too_long_is_invalid(clinician, session, answers, field):
    """Over 120 characters of driver or 1000 of reason: 400 beside the field."""
    _dose(session, 10)
    _observe(session, "final", 1, **OUT_OF_RANGE)
    with pytest.raises(Invalid) as refused:
        discharge.discharge(clinician, session.id, now=NOW, **answers)
    assert list(refused.value.fields) == [field]


# --- Closed sessions ------------------------------------------------------------------------


def test_a_cancelled_session_cannot_be_discharged(clinician, session):
    """A plain conflict, not a list of blockers."""
    session.status = SessionStatus.CANCELLED
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    assert (refused.value.code, refused.value.message) == (
        "conflict",
        "This session was cancelled.",
    )


def test_a_discharged_session_cannot_be_discharged_again(clinician, session):
    """The second discharge says when the first one was."""
    _dose(session, 10)
    _observe(session, "final", 1, **IN_RANGE)
    discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    with pytest.raises(Conflict) as refused:
        discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    assert refused.value.code == "conflict"
    assert refused.value.message.startswith("Already discharged at")
    assert len(discharge.discharges_of(session.id)) == 1


def test_another_clinic_cannot_discharge(ctx, people, session):
    """Not found, exactly as for a session that does not exist."""
    other = db.session.get(User, people["admin@other.test"].id)
    with pytest.raises(NotFound):
        discharge.discharge(other, session.id, driver=DRIVER, now=NOW)


# --- Reopening ------------------------------------------------------------------------------


def _discharged(clinician, session) -> None:
    _dose(session, 10)
    _observe(session, "final", 1, **OUT_OF_RANGE)
    discharge.discharge(clinician, session.id, driver=DRIVER, override_reason=REASON, now=NOW)


@pytest.mark.parametrize("minutes", [1, 60])
def test_reopen_within_the_window(clinician, session, minutes):
    """Up to 60 minutes after: discharge cleared, the reopening kept on the discharge row."""
    _discharged(clinician, session)
    later = NOW + timedelta(minutes=minutes)
    discharge.reopen(clinician, session.id, "  Wrong patient ticked. ", now=later)
    db.session.expire_all()
    reopened = db.session.get(TreatmentSession, session.id)
    assert (reopened.discharged_at, reopened.discharged_by_id) == (None, None)
    (record,) = discharge.discharges_of(session.id)
    assert record.reopened_at == later and record.reopened_by_id == clinician.id
    assert record.reopen_reason == "Wrong patient ticked."
    assert record.override_reason == REASON  # the history stays
    (event,) = _audit("session.discharge.reopen")
    assert event.detail == f"minutes_after_discharge={minutes}"
    assert "Wrong" not in event.detail


def test_after_reopening_a_second_discharge_adds_to_the_history(clinician, session):
    """Reopen, then discharge again: two discharge rows, the first marked reopened."""
    _discharged(clinician, session)
    discharge.reopen(clinician, session.id, "Felt faint at the door.", now=NOW)
    _observe(session, "final", -5, **IN_RANGE)
    later = NOW + timedelta(minutes=10)
    discharge.discharge(clinician, session.id, driver=DRIVER, now=later)
    first, second = discharge.discharges_of(session.id)
    assert first.reopened_at is not None and second.reopened_at is None
    assert second.out_of_range == "" and second.discharged_at == later


def test_reopen_after_the_window_is_refused(clinician, session):
    """61 minutes later: 409 saying what to do instead; nothing changes."""
    _discharged(clinician, session)
    with pytest.raises(Conflict) as refused:
        discharge.reopen(clinician, session.id, "Too late?", now=NOW + timedelta(minutes=61))
    assert refused.value.message == (
        "Discharged more than 60 minutes ago; record a clinical note instead."
    )
    db.session.rollback()
    assert db.session.get(TreatmentSession, session.id).discharged_at == NOW


def test_reopen_needs_a_reason(clinician, session):
    """A blank reason is refused beside the field."""
    _discharged(clinician, session)
    with pytest.raises(Invalid) as refused:
        discharge.reopen(clinician, session.id, "   ", now=NOW)
    assert list(refused.value.fields) == ["reason"]


def test_only_a_discharged_session_can_be_reopened(clinician, session):
    """Nothing to reopen: a plain conflict."""
    with pytest.raises(Conflict) as refused:
        discharge.reopen(clinician, session.id, "Just checking.", now=NOW)
    assert "not discharged" in refused.value.message


# --- Stale or incomplete evidence (review findings M1, M2, M3, M6) -----------------------------

BAD_CHECK = dict(systolic=190, diastolic=115, heart_rate=80, spo2=97, sedation=2)
BAD_STATE = dict(dissociation="severe", respiratory_concern=True)


def test_a_later_bad_observation_check_needs_an_override(clinician, session):
    """Clear final, then a check with BP 190/115, sedation 2, severe dissociation and a
    breathing concern: not discharged without a reason; with one, every concern is kept."""
    _dose(session, 10)
    _observe(session, "final", 3, **IN_RANGE)
    _observe(session, "check", 1, **BAD_CHECK, **BAD_STATE)
    fields = _blockers(clinician, session, driver=DRIVER)
    assert list(fields) == ["override_reason"]
    (message,) = fields["override_reason"]
    assert message.startswith("A reading after the final check is not clear for discharge")
    assert "Observation check at" in message and "BP 190/115 (high)" in message
    assert "sedation MOAA/S 2" in message and "a respiratory concern" in message
    _, record = discharge.discharge(
        clinician, session.id, driver=DRIVER, override_reason=REASON, now=NOW
    )
    assert record.out_of_range == (
        "systolic_high,diastolic_high,sedation_2,dissociation_severe,respiratory_concern"
    )


def test_a_later_clear_check_needs_no_override(clinician, session):
    """A clear check after a clear final: discharged on the driver alone."""
    _dose(session, 10)
    _observe(session, "final", 3, **IN_RANGE)
    _observe(session, "check", 1, **IN_RANGE, sedation=5, dissociation="mild")
    _, record = discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    assert record.out_of_range == "" and record.override_reason == ""


def test_after_reopening_the_old_final_check_does_not_count(clinician, session):
    """Discharged, reopened ("fainted in the lobby"), discharged a minute later on the same
    final check: refused until a new final check is recorded after the reopening."""
    _dose(session, 10)
    _observe(session, "final", 1, **IN_RANGE)
    discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    reopened = NOW + timedelta(minutes=2)
    discharge.reopen(clinician, session.id, "Patient fainted in the lobby.", now=reopened)
    with pytest.raises(Conflict) as refused:
        discharge.discharge(
            clinician, session.id, driver=DRIVER, now=reopened + timedelta(minutes=1)
        )
    db.session.rollback()
    assert refused.value.fields == {
        "final_vitals": [
            f"The discharge was reopened at {_clock(reopened)}: record a new final check after "
            "reopening."
        ]
    }
    assert db.session.get(TreatmentSession, session.id).discharged_at is None
    _observe(session, "final", -3, **IN_RANGE)
    discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW + timedelta(minutes=4))
    assert len(discharge.discharges_of(session.id)) == 2


def _clock(moment: datetime) -> str:
    """``moment`` as the board writes it (the clinic's local time)."""
    clinic = db.session.scalar(select(Clinic).where(Clinic.name == "Demo Clinic"))
    return clock_time(moment, clinic)


def test_a_final_check_right_after_dosing_does_not_count(clinician, session):
    """60 minutes of observation: a "final" a minute after dosing, or 20 minutes before the
    end, does not count; one 10 minutes before the end does."""
    session.template_version.observation_minutes = 60
    _dose(session, 70)
    _observe(session, "final", 69, **IN_RANGE)
    fields = _blockers(clinician, session, driver=DRIVER)
    ends = NOW - timedelta(minutes=10)
    assert fields == {
        "final_vitals": [
            f"A final check counts from {_clock(ends - timedelta(minutes=15))} (15 min before "
            f"observation ends at {_clock(ends)}); the one recorded is too early: record one then."
        ]
    }
    _observe(session, "final", 30, **IN_RANGE)
    assert list(_blockers(clinician, session, driver=DRIVER)) == ["final_vitals"]
    _observe(session, "final", 20, **IN_RANGE)
    _, record = discharge.discharge(clinician, session.id, driver=DRIVER, now=NOW)
    assert record.discharged_at == NOW


def test_no_final_yet_says_when_one_may_be_taken(clinician, session):
    """Before the final check's time, the blocker names it."""
    session.template_version.observation_minutes = 60
    _dose(session, 10)
    fields = _blockers(clinician, session, driver=DRIVER)
    counts_from = _clock(NOW + timedelta(minutes=35))
    assert fields["final_vitals"] == [
        "Record a final vitals check (none since observation began). A final check counts "
        f"from {counts_from} (15 min before observation ends at "
        f"{_clock(NOW + timedelta(minutes=50))})."
    ]


def test_a_confirmation_of_older_readings_discharges_nothing(clinician, session):
    """The board confirmed one final and its concerns; a newer final with new concerns came
    in: the old override reason does not cover them (readings_changed, nothing written)."""
    _dose(session, 10)
    _observe(session, "final", 3, **OUT_OF_RANGE)
    shown = discharge.Confirmed.of(
        discharge.check(clinician, session.id, driver=DRIVER, override_reason=REASON, now=NOW).ready
    )
    _observe(session, "final", 1, **OUT_OF_RANGE, sedation=2)
    with pytest.raises(Conflict) as refused:
        discharge.discharge(
            clinician, session.id, driver=DRIVER, override_reason=REASON, confirmed=shown, now=NOW
        )
    assert refused.value.code == "readings_changed"
    db.session.rollback()
    assert discharge.discharges_of(session.id) == []
    now_shown = discharge.Confirmed.of(
        discharge.check(clinician, session.id, driver=DRIVER, override_reason=REASON, now=NOW).ready
    )
    assert "sedation_2" in now_shown.concerns and now_shown != shown
    discharge.discharge(
        clinician, session.id, driver=DRIVER, override_reason=REASON, confirmed=now_shown, now=NOW
    )
    assert len(discharge.discharges_of(session.id)) == 1


def test_the_demo_record_still_meets_the_discharge_rule(ctx, people):
    """The demo patient's past esketamine session: its final (2 minutes before observation
    ends, nothing after it) counts and is clear at the time it was discharged."""
    from kap.models import SessionDischarge
    from kap.services.board.administrations import administrations_of
    from kap.services.board.discharge_rules import readiness
    from kap.services.board.scope import observations_of

    record = db.session.scalar(select(SessionDischarge).order_by(SessionDischarge.id))
    past = db.session.get(TreatmentSession, record.session_id)
    assert past.patient_id == people["patient@demo.test"].id
    at, past.discharged_at = past.discharged_at, None  # as it stood before the discharge
    ready = readiness(
        past,
        observations_of([past.id])[past.id],
        db.session.get(Clinic, past.clinic_id),
        at,
        administrations_of([past.id])[past.id],
    )
    db.session.rollback()
    assert ready.can_proceed and not ready.needs_override
    assert ready.final is not None and ready.final.kind == "final"
