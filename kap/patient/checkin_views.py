"""The patient's check-ins (PHQ-9 and GAD-7): what is due, answering one, and the result.

Answers are plain radio buttons posted as ``q1`` … ``qN`` (0 to 3), so the questionnaire
works without JavaScript; a hidden ``client_id`` makes a double submit count once.
"""

from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from kap.patient import bp
from kap.services.clinic.settings import clinic_phone_line
from kap.services.errors import Invalid
from kap.services.measures import checkins as measures
from kap.services.measures.scoring import INSTRUMENTS, Instrument, severity_for
from kap.services.people.care_teams import care_team_of
from kap.web.forms import CsrfOnlyForm


def _chosen_answers(spec: Instrument) -> list[int | None]:
    """The posted answer to each question, None where none was chosen."""
    allowed = {str(value): value for value in range(len(spec.choices))}
    return [allowed.get(request.form.get(f"q{n}", "")) for n in range(1, len(spec.items) + 1)]


def _questions(spec: Instrument, chosen: list[int | None], missing: set[int]) -> list[dict]:
    """What the template needs per question: its text, its choices and any error."""
    return [
        {
            "number": number,
            "name": f"q{number}",
            "text": text,
            "error": f"Choose an answer for question {number}." if number in missing else "",
            "choices": [
                {"value": value, "label": label, "checked": chosen[number - 1] == value}
                for value, label in enumerate(spec.choices)
            ],
        }
        for number, text in enumerate(spec.items, start=1)
    ]


def _form_page(spec, form, chosen, *, client_id, session_id, missing=(), errors=(), status=200):
    return render_template(
        "patient/checkin_form.html",
        spec=spec,
        form=form,
        questions=_questions(spec, chosen, set(missing)),
        missing=list(missing),
        errors=list(errors),
        client_id=client_id,
        session_id=session_id,
        care_team=care_team_of(current_user),
    ), status


@bp.route("/check-ins")
def checkins():
    """What is due now, and each questionnaire's scores over time (chart and table)."""
    return render_template(
        "patient/checkins.html",
        due=measures.checkins_due(current_user),
        charts=[
            measures.chart_for(current_user, current_user.id, key, width=360) for key in INSTRUMENTS
        ],
    )


@bp.route("/check-ins/<any(phq9, gad7):instrument>", methods=["GET", "POST"])
def checkin_form(instrument: str):
    """Answer a questionnaire; every question is required and a resubmit records once."""
    spec = INSTRUMENTS[instrument]
    form = CsrfOnlyForm()
    if request.method == "GET":
        return _form_page(
            spec,
            form,
            [None] * len(spec.items),
            client_id=str(uuid.uuid4()),
            session_id=request.args.get("session_id", ""),
        )
    chosen = _chosen_answers(spec)
    client_id = request.form.get("client_id") or str(uuid.uuid4())
    session_field = request.form.get("session_id", "")
    missing = [number for number, answer in enumerate(chosen, start=1) if answer is None]
    page = {"client_id": client_id, "session_id": session_field, "status": 400}
    if not form.validate_on_submit() or missing:
        return _form_page(spec, form, chosen, missing=missing, **page)
    try:
        response, _created = measures.record_checkin(
            current_user,
            spec.key,
            chosen,
            client_id=client_id,
            session_id=int(session_field) if session_field.isdigit() else None,
        )
    except Invalid as error:
        # Only the hidden fields can be wrong here (the answers were checked above): start
        # them afresh so sending again works, keeping every answer chosen.
        messages = [message for field in error.fields.values() for message in field]
        page |= {"client_id": str(uuid.uuid4()), "session_id": ""}
        return _form_page(spec, form, chosen, errors=messages or [error.message], **page)
    return redirect(url_for("patient.checkin_result", id=response.id))


@bp.route("/check-ins/result")
def checkin_result():
    """A saved check-in. After a positive PHQ-9 item 9, crisis contacts come first."""
    raw_id = request.args.get("id", "")
    if not raw_id.isdigit():
        return redirect(url_for("patient.checkins"))
    response = measures.own_response(current_user, int(raw_id))
    item9 = measures.is_item9_positive(response)
    return render_template(
        "patient/checkin_result.html",
        response=response,
        spec=INSTRUMENTS[response.instrument],
        band=severity_for(response.instrument, response.score),
        item9_positive=item9,
        contacts=current_user.clinic.crisis_contacts if item9 else [],
        clinic_line=clinic_phone_line(current_user.clinic) if item9 else None,
        # Nobody who just told us about thoughts of self-harm is handed another questionnaire.
        due=[] if item9 else measures.checkins_due(current_user),
    )
