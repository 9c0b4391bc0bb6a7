"""Open safety alerts, scoped to who must act on them."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Select, false, func, select

from kap.extensions import db
from kap.models import Alert, AlertKind, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.people.care_teams import in_care_list
from kap.services.queries import one_or_not_found
from kap.services.unit_of_work import use_case


def open_alerts_visible_to(user: User) -> Select[Alert]:
    """Unresolved alerts: a therapist's care list's, or the whole clinic's for an admin."""
    query = select(Alert).where(Alert.clinic_id == user.clinic_id, Alert.resolved_at.is_(None))
    if user.is_therapist:
        query = query.where(in_care_list(Alert.patient_id, user.id))
    elif not user.is_clinic_admin:
        return query.where(false())
    return query.order_by(Alert.created_at.desc())


def open_alerts(user: User, patient_id: int | None = None) -> list[Alert]:
    """The open alerts ``user`` must act on (of one patient, when given), newest first."""
    query = open_alerts_visible_to(user)
    if patient_id is not None:
        query = query.where(Alert.patient_id == patient_id)
    return list(db.session.scalars(query))


def open_call_staff_by_clinic() -> dict[str, int]:
    """How many Call staff alerts are open in each clinic, keyed by the clinic's id (for the
    operators' metrics: a number per clinic, nothing about who called)."""
    rows = db.session.execute(
        select(Alert.clinic_id, func.count())
        .where(Alert.kind == AlertKind.CALL_STAFF, Alert.resolved_at.is_(None))
        .group_by(Alert.clinic_id)
        .order_by(Alert.clinic_id)
    )
    return {str(clinic_id): count for clinic_id, count in rows}


def get_alert_for(user: User, alert_id: int) -> Alert:
    """An open or closed alert ``user`` may act on, or NotFound."""
    query = select(Alert).where(Alert.id == alert_id, Alert.clinic_id == user.clinic_id)
    if user.is_therapist:
        query = query.where(in_care_list(Alert.patient_id, user.id))
    elif not user.is_clinic_admin:
        raise NotFound("No such alert.")
    return one_or_not_found(query, "alert")


def acknowledge_alert(user: User, alert_id: int) -> Alert:
    """Say 'I have seen this and I am on it' (idempotent)."""
    return acknowledge(user, get_alert_for(user, alert_id))


def resolve_alert(user: User, alert_id: int, note: str) -> Alert:
    """Close an alert with a note saying what was done."""
    return resolve(user, note, lambda: get_alert_for(user, alert_id))


@use_case
def acknowledge(user: User, alert: Alert) -> Alert:
    """Acknowledge an alert the caller may act on (found by their own scoped lookup)."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = user.id
        _audit("alert.acknowledge", user, alert)
    return alert


@use_case
def resolve(user: User, note: str, find: Callable[[], Alert]) -> Alert:
    """Check the note, find the alert with the caller's scoped lookup, and close it."""
    note = (note or "").strip()
    if not note:
        raise Invalid("Say what was done.", {"note": ["Write a short note on what was done."]})
    if len(note) > 2000:
        raise Invalid("The note is too long.", {"note": ["Up to 2,000 characters."]})
    alert = find()
    if alert.resolved_at is not None:
        raise Conflict("This alert was already resolved.")
    if alert.kind == AlertKind.INTAKE_REVIEW:
        # Closed by the clinician's decision (kap/services/screening/intake.py), never by a
        # note: a note here would leave the intake undecided and the session blocked.
        raise Conflict(
            "Record a decision on the intake; that closes this alert.",
            code="intake_decision_required",
        )
    now = utcnow()
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_id = now, user.id
    alert.resolved_at, alert.resolved_by_id, alert.resolution_note = now, user.id, note
    _audit("alert.resolve", user, alert)
    return alert


def _audit(action: str, user: User, alert: Alert) -> None:
    audit.record(
        action,
        actor=user,
        subject_type="alert",
        subject_id=alert.id,
        patient_id=alert.patient_id,
    )
