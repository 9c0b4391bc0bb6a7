"""The patient's screening intake: the questionnaire by section, and where it stands.

A plain form post (works without JavaScript). Choice answers are radios named
``<code>-<item id>`` (``intake-heart``, ``auditc-1``); bad input re-renders with every message
beside its question and keeps everything typed and chosen.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.patient import bp
from kap.services.errors import Invalid
from kap.services.people.care_teams import care_team_of
from kap.services.screening import intake as screening
from kap.web.forms import CsrfOnlyForm


def _posted(sections: list[screening.Section]) -> dict[str, dict[str, object]]:
    """The answers as the service takes them: per instrument code, by item id. A blank
    answer is left out (the engine says when it was required); a choice or number that is
    not a whole number is passed on as typed, for the engine's message."""
    answers: dict[str, dict[str, object]] = {}
    for question in _questions(sections):
        raw = request.form.get(question.name, "")
        value: object = raw.strip()
        if question.item.kind != "text" and raw.strip().lstrip("-").isdigit():
            value = int(raw.strip())
        if value != "":
            answers.setdefault(question.code, {})[question.item.id] = value
        else:
            answers.setdefault(question.code, {})
    return answers


def _questions(sections: list[screening.Section]) -> list[screening.Question]:
    return [
        question
        for section in sections
        for part in (*section.included, section)
        for question in part.questions
    ]


def _form_page(questionnaire, sections, *, values=None, errors=None, status=200):
    errors = errors or {}
    placed = {question.error_key for question in _questions(sections)}
    return render_template(
        "patient/intake_form.html",
        questionnaire=questionnaire,
        sections=sections,
        values=values or {},
        errors=errors,
        # Messages that belong to no one question go at the top.
        general=[m for key, ms in errors.items() if key not in placed for m in ms],
        missing=[q for q in _questions(sections) if q.error_key in errors],
        form=CsrfOnlyForm(),
        care_team=care_team_of(current_user),
    ), status


@bp.route("/intake", methods=["GET", "POST"])
def intake():
    """Where the intake stands, or the questionnaire (``?again=1``: submit a new one)."""
    questionnaire = screening.questionnaire_for(current_user.clinic_id)
    sections = screening.page_sections(questionnaire)
    if request.method == "GET":
        latest = screening.latest_intake(current_user)
        if latest is not None and request.args.get("again") != "1":
            return render_template(
                "patient/intake_status.html",
                submission=latest,
                labels=screening.STATUS_LABELS,
                care_team=care_team_of(current_user),
            )
        return _form_page(questionnaire, sections)
    values = {
        question.name: request.form.get(question.name, "") for question in _questions(sections)
    }
    if not CsrfOnlyForm().validate_on_submit():
        errors = {"form": ["The form expired. Please submit it again."]}
        return _form_page(questionnaire, sections, values=values, errors=errors, status=400)
    try:
        screening.submit(current_user, _posted(sections))
    except Invalid as error:
        errors = error.fields or {"form": [error.message]}
        return _form_page(questionnaire, sections, values=values, errors=errors, status=400)
    flash("Submitted — your care team will review it.", "info")
    return redirect(url_for("patient.intake"))
