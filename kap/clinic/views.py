"""Clinic admin home."""

from datetime import UTC, datetime, time, timedelta

from flask import render_template
from flask_login import current_user
from sqlalchemy import func, select

from kap.clinic import bp
from kap.extensions import db
from kap.models import Role, SessionStatus, TreatmentSession, User
from kap.services.clinic.templates import templates_of_clinic
from kap.services.sessions.queries import sessions_visible_to
from kap.timezones import local_to_utc, to_local


@bp.route("/")
def home():
    """Today's sessions and the clinic at a glance."""
    clinic = current_user.clinic
    today = to_local(datetime.now(UTC), clinic.timezone).date()
    start = local_to_utc(today, time(0), clinic.timezone)
    todays = db.session.scalars(
        sessions_visible_to(current_user)
        .where(
            TreatmentSession.scheduled_at >= start,
            TreatmentSession.scheduled_at < start + timedelta(days=1),
            TreatmentSession.status != SessionStatus.CANCELLED,
        )
        .order_by(TreatmentSession.scheduled_at)
    ).all()
    counts = dict(
        db.session.execute(
            select(User.role, func.count())
            .where(User.clinic_id == clinic.id, User.active)
            .group_by(User.role)
        ).all()
    )
    return render_template(
        "clinic/home.html",
        todays_sessions=todays,
        patient_count=counts.get(Role.PATIENT, 0),
        therapist_count=counts.get(Role.THERAPIST, 0),
        templates=templates_of_clinic(current_user),
    )
