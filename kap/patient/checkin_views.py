"""The patient's check-ins (any instrument the clinic offers): what is due, answering one, and
the result.

Answers are plain form fields posted as ``q1`` … ``qN`` (radio buttons for choices, a number
field, a text box), so the questionnaire works without JavaScript; a hidden ``client_id``
makes a double submit count once.
"""

from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from kap.patient import bp
from kap.services.clinic.settings import clinic_phone_line
from kap.services.errors import Invalid
from kap.services.measures import checkins as measures
from kap.services.measures.library import instrument_for, instruments_for
from kap.services.measures.scoring import Instrument, Item
from kap.services.people.care_teams import care_team_of
from kap.web.forms import CsrfOnlyForm


def _posted(item: Item, raw: str) -> int | str | None:
    """One posted answer as the engine reads it (None when blank or not a number)."""
    raw = raw.strip()
    if item.kind == "text":
        return raw or None
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _chosen_answers(spec: Instrument) -> list[int | str | None]:
    """The posted answer to each question, None where none was given."""
    return [
        _posted(item, request.form.get(f"q{n}", "")) for n, item in enumerate(spec.items, start=1)
    ]


def _questions(spec: Instrument, chosen: list, problems: dict[int, str]) -> list[dict]:
    """What the template needs per question: its text, kind, choices and any error."""
    return [
        {
            "number": number,
            "name": f"q{number}",
            "item": item,
            "value": "" if chosen[number - 1] is None else chosen[number - 1],
            "error": problems.get(number, ""),
            "choices": [
                {"value": o.value, "label": o.label, "checked": chosen[number - 1] == o.value}
                for o in item.options
            ],
        }
        for number, item in enumerate(spec.items, start=1)
    ]


def _problems_by_question(spec: Instrument, error: Invalid) -> dict[int, str]:
    """The engine's "Answer 3 needs an answer." as {3: "Choose an answer for question 3."}."""
    found = {}
    for message in error.fields.get("answers", []):
        words = message.split(" ", 2)
        if len(words) == 3 and words[0] == "Answer" and words[1].isdigit():
            number = int(words[1])
            if words[2] != "needs an answer.":
                found[number] = f"Question {number} {words[2]}"
            elif spec.items[number - 1].kind == "choice":
                found[number] = f"Choose an answer for question {number}."
            else:
                found[number] = f"Answer question {number}."
    return found


def _form_page(spec, form, chosen, *, client_id, session_id, problems=None, errors=(), status=200):
    problems = problems or {}
    return render_template(
        "patient/checkin_form.html",
        spec=spec,
        form=form,
        questions=_questions(spec, chosen, problems),
        missing=sorted(problems),
        errors=list(errors),
        client_id=client_id,
        session_id=session_id,
        care_team=care_team_of(current_user),
    ), status


def _offered(code: str) -> Instrument:
    """The clinic's instrument ``code`` (a check-in, not the intake), or 404."""
    try:
        spec = instrument_for(current_user.clinic_id, code)
    except Invalid:
        abort(404)
    if spec.kind != "measure":
        abort(404)
    return spec


@bp.route("/check-ins")
def checkins():
    """What is due now, and each scored questionnaire's scores over time (chart and table)."""
    return render_template(
        "patient/checkins.html",
        due=measures.checkins_due(current_user),
        charts=measures.measures_overview(current_user, current_user.id, width=360).charts,
        offered=instruments_for(current_user.clinic_id),
    )


@bp.route("/check-ins/<instrument>", methods=["GET", "POST"])
def checkin_form(instrument: str):
    """Answer a questionnaire; every required question needs an answer; a resubmit records once."""
    spec = _offered(instrument)
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
    page = {"client_id": client_id, "session_id": session_field, "status": 400}
    if not form.validate_on_submit():
        return _form_page(spec, form, chosen, **page)
    try:
        response, _created = measures.record_checkin(
            current_user,
            spec.code,
            chosen,
            client_id=client_id,
            session_id=int(session_field) if session_field.isdigit() else None,
        )
    except Invalid as error:
        problems = _problems_by_question(spec, error)
        if problems:
            return _form_page(spec, form, chosen, problems=problems, **page)
        # Only the hidden fields can be wrong now: start them afresh so sending again works,
        # keeping every answer given.
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
    spec = measures.instrument_of(response)
    return render_template(
        "patient/checkin_result.html",
        response=response,
        spec=spec,
        band=spec.band_for(response.score) if response.score is not None else None,
        item9_positive=item9,
        contacts=current_user.clinic.crisis_contacts if item9 else [],
        clinic_line=clinic_phone_line(current_user.clinic) if item9 else None,
        # Nobody who just told us about thoughts of self-harm is handed another questionnaire.
        due=[] if item9 else measures.checkins_due(current_user),
    )
