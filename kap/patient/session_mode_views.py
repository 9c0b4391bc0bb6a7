"""Session mode: the dark, full-screen view that plays the session (music, prompts, downtime)."""

from flask import redirect, render_template, url_for
from flask_login import current_user

from kap.api.sessions import audio_url, prompt_url
from kap.models import SessionStatus
from kap.patient import bp
from kap.services.sessions.data import session_detail
from kap.services.sessions.flow import own_session
from kap.services.sessions.staff_calls import calls_of, latest


@bp.route("/sessions/<int:session_id>/mode")
def session_mode(session_id: int):
    """Run a started session; before the start, the preparation page; after, integration."""
    session = own_session(current_user, session_id)
    if session.status in (SessionStatus.SCHEDULED, SessionStatus.CANCELLED):
        return redirect(url_for("patient.prepare", session_id=session.id))
    if session.status == SessionStatus.COMPLETE:
        return redirect(url_for("patient.integration", session_id=session.id))
    calls = calls_of(session)
    data = session_detail(session, audio_url, prompt_url, calls=calls)
    data["urls"] = {
        "phase": url_for("api.post_phase", session_id=session.id),
        "call_staff": url_for("api.post_call_staff", session_id=session.id),
        "calls": url_for("api.session_calls", session_id=session.id),
        "integration": url_for("patient.integration", session_id=session.id),
        "prepare": url_for("patient.prepare", session_id=session.id),
    }
    return render_template(
        "patient/session_mode.html",
        session=session,
        data=data,
        call=latest(calls),
    )
