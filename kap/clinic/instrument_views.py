"""The clinic's questionnaires: the shipped ones (read-only) and its own, with their editor.

The editor is one form posted back to itself ("Add more questions" adds empty rows; Save
adds a version); an advanced form beside it takes the whole definition as JSON. Either way,
whatever was typed comes back with every problem next to its field.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.clinic import bp
from kap.clinic.questionnaire_form import MAX_ROWS, MORE_ROWS, draft_from_form, with_blank_rows
from kap.services.clinic.instruments import (
    ITEM_KINDS,
    Editing,
    ItemRow,
    QuestionnaireDraft,
    archive_questionnaire,
    own_questionnaires,
    parse_json_definition,
    questionnaire_for_editing,
    restore_questionnaire,
    save_questionnaire,
    shipped_questionnaires,
)
from kap.services.errors import Conflict, Invalid
from kap.services.measures.library import REPLACEABLE
from kap.web.forms import CsrfOnlyForm

#: Fields the editor shows their own messages beside.
PLACED = frozenset(
    {
        "code",
        "name",
        "title",
        "question",
        "source",
        "kind",
        "includes",
        "review_scores",
        "bands",
        "response",
        "remission_below",
        "items",
        "definition_json",
    }
)


@bp.route("/questionnaires")
def questionnaires():
    """The shipped questionnaires with their sources, and the clinic's own with versions."""
    return render_template(
        "clinic/questionnaires.html",
        shipped=shipped_questionnaires(),
        own=own_questionnaires(current_user),
        form=CsrfOnlyForm(),
    )


def _render(
    draft: QuestionnaireDraft,
    *,
    code: str | None,
    editing: Editing | None = None,
    json_text: str | None = None,
    errors: dict | None = None,
    form_errors: list[str] | None = None,
    status: int = 200,
):
    return (
        render_template(
            "clinic/questionnaire_edit.html",
            draft=draft,
            code=code,
            editing=editing,
            json_text=editing.json if json_text is None and editing else (json_text or ""),
            errors=errors or {},
            form_errors=form_errors or [],
            kinds=ITEM_KINDS,
            is_intake=(code or draft.code) in REPLACEABLE,
            unplaced=[
                message
                for key, messages in (errors or {}).items()
                if key not in PLACED and not key.startswith("items-")
                for message in messages
            ],
            form=CsrfOnlyForm(),
        ),
        status,
    )


def _post(code: str | None, editing: Editing | None):
    """Add rows, or save from the form or from the JSON; re-render all input when refused."""
    advanced = request.form.get("editor") == "json"
    json_text = request.form.get("definition_json", "")
    draft = draft_from_form(request.form) if not advanced else None
    if draft is None:  # the advanced form: the questions form shows the saved version
        draft = editing.draft if editing else with_blank_rows(QuestionnaireDraft())
    if code is not None:
        draft.code = code

    def again(status: int, errors: dict | None = None, messages: list[str] | None = None):
        return _render(
            draft,
            code=code,
            editing=editing,
            json_text=json_text if advanced else None,
            errors=errors,
            form_errors=messages,
            status=status,
        )

    if not CsrfOnlyForm().validate_on_submit():
        return again(400, messages=["This form expired. Check your changes and save again."])
    action = request.form.get("action", "save")
    if action == "add-items" and not advanced:
        draft.items.extend(ItemRow() for _ in range(min(MORE_ROWS, MAX_ROWS - len(draft.items))))
        return again(200)
    try:
        if advanced:
            row = save_questionnaire(
                current_user,
                definition=parse_json_definition(json_text),
                code=code,
                based_on=int(request.form.get("based_on") or 0),
            )
        else:
            row = save_questionnaire(current_user, draft, code=code)
    except Invalid as error:
        return again(400, error.fields, [error.message])
    except Conflict as error:
        if editing is not None:  # saving again now is a choice made with the news in hand
            draft.based_on = editing.version
        return again(409, messages=[error.message])
    flash(f"Saved “{row.definition.get('name', row.code)}” as version {row.version}.", "info")
    return redirect(url_for("clinic.edit_questionnaire", code=row.code))


@bp.route("/questionnaires/new", methods=["GET", "POST"])
def new_questionnaire():
    """Write a new questionnaire of the clinic's own."""
    if request.method == "POST":
        return _post(None, None)
    return _render(with_blank_rows(QuestionnaireDraft(scored=False)), code=None)


@bp.route("/questionnaires/<code>", methods=["GET", "POST"])
def edit_questionnaire(code: str):
    """Edit a questionnaire of the clinic's own (or its intake): saving adds a version."""
    editing = questionnaire_for_editing(current_user, code)
    if request.method == "POST":
        return _post(code, editing)
    return _render(with_blank_rows(editing.draft), code=code, editing=editing)


@bp.route("/questionnaires/<code>/archive", methods=["POST"], endpoint="archive_questionnaire")
def archive_questionnaire_page(code: str):
    """Stop offering it to patients; its answers stay readable."""
    if CsrfOnlyForm().validate_on_submit():
        try:
            row = archive_questionnaire(current_user, code)
        except Conflict as error:
            flash(error.message, "error")
        else:
            name = row.definition.get("name", code)
            flash(f"“{name}” archived: patients no longer see it.", "info")
    return redirect(url_for("clinic.questionnaires"))


@bp.route("/questionnaires/<code>/restore", methods=["POST"], endpoint="restore_questionnaire")
def restore_questionnaire_page(code: str):
    """Offer an archived questionnaire again."""
    if CsrfOnlyForm().validate_on_submit():
        row = restore_questionnaire(current_user, code)
        flash(f"“{row.definition.get('name', code)}” restored.", "info")
    return redirect(url_for("clinic.questionnaires"))
