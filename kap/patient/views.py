"""Patient home and the Crisis support page."""

from zoneinfo import ZoneInfo

from flask import render_template
from flask_login import current_user

from kap.models import SessionStatus
from kap.models.base import utcnow
from kap.patient import bp
from kap.services.clinic.settings import clinic_phone_line
from kap.services.journal.entries import count_own_entries
from kap.services.measures.checkins import checkins_due
from kap.services.measures.schedule import reason_words
from kap.services.screening.consent import signature_status
from kap.services.screening.intake import STATUS_LABELS, intake_status
from kap.services.sessions.flow import missing_required, preparation_progress
from kap.services.sessions.queries import booked_sessions, next_session
from kap.services.sessions.start_window import kept_offline_today


@bp.route("/")
def home():
    """Next session, what is due, upcoming and past sessions."""
    upcoming_next = next_session(current_user)
    sessions = booked_sessions(current_user)
    later = [
        s
        for s in sessions
        if s.status == SessionStatus.SCHEDULED
        and upcoming_next is not None
        and s.scheduled_at > upcoming_next.scheduled_at
    ]
    past = [s for s in sessions if s.status == SessionStatus.COMPLETE]
    progress = preparation_progress(upcoming_next) if upcoming_next else (0, 0)
    missing = missing_required(upcoming_next) if upcoming_next else []
    zone = ZoneInfo(current_user.clinic.timezone)
    entry_count = count_own_entries(current_user)
    return render_template(
        "patient/home.html",
        new_patient=not entry_count and not past,
        next_session=upcoming_next,
        offline_line=bool(upcoming_next) and kept_offline_today(upcoming_next, utcnow()),
        progress=progress,
        missing=missing,
        later=later,
        past=list(reversed(past)),
        due=[(item, reason_words(item, zone)) for item in checkins_due(current_user)],
        entry_count=entry_count,
        consent=signature_status(current_user),
        intake_status=intake_status(current_user),
        intake_labels=STATUS_LABELS,
    )


@bp.route("/crisis-support")
def crisis_support():
    """The clinic's own phone, then its crisis contacts, one tap from every patient page."""
    clinic = current_user.clinic
    return render_template(
        "patient/crisis_support.html",
        clinic_line=clinic_phone_line(clinic),
        contacts=clinic.crisis_contacts,
    )
