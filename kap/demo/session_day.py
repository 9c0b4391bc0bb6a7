"""A complete demo monitoring record: check-in, dose, vitals at protocol times, discharge.

The demo has one past esketamine session of the demo patient whose record carries
everything the Spravato REMS monitoring form asks for, so the board's printable record and
the timeline show real shape on first run.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from kap.extensions import db
from kap.models import (
    MedicationAdministration,
    SessionDischarge,
    SessionObservation,
    TreatmentSession,
    User,
)

#: (minutes after dosing, kind, systolic, diastolic, heart rate, SpO2, sedation, dissociation)
DEMO_READINGS = [
    (-8, "pre_dose", 128, 82, 74, 98, 5, "none"),
    (40, "post_dose", 142, 88, 80, 97, 4, "mild"),
    (70, "check", None, None, None, None, 5, "mild"),
    (100, "check", None, None, None, None, 5, "none"),
    (118, "final", 126, 80, 72, 98, 5, "none"),
]
DEMO_DRIVER = "Alex Jordan (partner)"


def add_monitoring_record(session: TreatmentSession, clinician: User) -> None:
    """Give a finished, flushed session its check-in, dose, monitoring and discharge."""
    dosed = session.session_started_at
    session.checked_in_at = dosed - timedelta(minutes=12)
    session.checked_in_by_id = clinician.id
    for minutes, kind, systolic, diastolic, pulse, spo2, sedation, dissociation in DEMO_READINGS:
        db.session.add(
            SessionObservation(
                session_id=session.id,
                clinic_id=session.clinic_id,
                kind=kind,
                recorded_at=dosed + timedelta(minutes=minutes),
                recorded_by_id=clinician.id,
                systolic=systolic,
                diastolic=diastolic,
                heart_rate=pulse,
                spo2=spo2,
                sedation=sedation,
                dissociation=dissociation,
                respiratory_concern=False,
                note="Resting comfortably; mild dissociation." if kind == "post_dose" else "",
            )
        )
    db.session.add(
        MedicationAdministration(
            session_id=session.id,
            clinic_id=session.clinic_id,
            medication="Esketamine (Spravato)",
            route="intranasal",
            dose=Decimal("56"),
            unit="mg",
            lot="DEMO-24A17",
            given_at=dosed,
            given_by_id=clinician.id,
            recorded_at=dosed + timedelta(minutes=2),
            note="Two devices, 5 minutes apart.",
        )
    )
    discharged = dosed + timedelta(minutes=122)
    session.discharged_at = discharged
    session.discharged_by_id = clinician.id
    db.session.add(
        SessionDischarge(
            session_id=session.id,
            clinic_id=session.clinic_id,
            discharged_at=discharged,
            discharged_by_id=clinician.id,
            driver=DEMO_DRIVER,
        )
    )
