"""People of the clinic: add by invitation, deactivate, care teams."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.auth.login import seal_in_session, unseal_from_session
from kap.clinic import bp
from kap.clinic.forms import (
    BoosterForm,
    CancelForm,
    CareTeamForm,
    PersonForm,
    RescheduleForm,
    ScheduleCourseForm,
    choices,
)
from kap.models import Role, SessionStatus, User
from kap.services.clinic.templates import templates_of_clinic
from kap.services.errors import Conflict, Invalid
from kap.services.people import care_teams, invitations
from kap.services.people.access import people_list
from kap.services.people.data_rights import delete_patient_data
from kap.services.sessions.queries import ON_RECORD, sessions_of_patient, sessions_with_day_record
from kap.web.forms import CsrfOnlyForm, attach_errors
from kap.web.pagination import filter_text, page_of

ROLE_FILTERS = {"patients": Role.PATIENT, "therapists": Role.THERAPIST, "admins": Role.CLINIC_ADMIN}


def invitation_link(token: str) -> str:
    """The absolute link a new person opens to set their password."""
    return url_for("auth.accept_invitation", token=token, _external=True)


#: Where the new invitation link waits, sealed, for the person page after the redirect. A
#: flash would keep the link - a credential - as plain JSON in the session row until shown.
INVITATION_NOTICE = "invitation_notice"


def _show_invitation_next(issued) -> None:
    how = "We e-mailed it to them too." if issued.emailed else "Pass it on to them securely."
    notice = {"name": issued.user.name, "link": invitation_link(issued.token), "how": how}
    seal_in_session(INVITATION_NOTICE, current_user, json.dumps(notice))


def _invitation_notice() -> dict[str, str] | None:
    """The invitation link waiting to be shown once (name, link, how it reaches them)."""
    sealed = unseal_from_session(INVITATION_NOTICE, current_user, pop=True)
    if not sealed:
        return None
    try:
        notice = json.loads(sealed)
    except ValueError:
        return None
    return notice if isinstance(notice, dict) else None


def _therapist_choices():
    """The clinic's therapists for a care-team choice, deactivated ones marked."""
    return choices(
        (t.id, t.name + ("" if t.active else " (deactivated)"))
        for t in care_teams.therapists_by_name(current_user)
    )


PEOPLE_PER_PAGE = 50


@bp.route("/people")
def people():
    """Everyone in the clinic, 50 a page, optionally one role or a name/email search."""
    show = request.args.get("show", "")
    role = ROLE_FILTERS.get(show)
    text, can_match = filter_text("q", 100)
    query = people_list(current_user, role=role, text=text, can_match=can_match)
    page = page_of(query, PEOPLE_PER_PAGE)
    filters = {key: value for key, value in (("show", show if role else ""), ("q", text)) if value}
    return render_template(
        "clinic/people.html",
        page=page,
        people=page.items,
        show=show if role else "",
        query=text,
        filters=filters,
    )


@bp.route("/people/new", methods=["GET", "POST"])
def add_person():
    """Add a patient, therapist or admin; they get a one-time invitation link."""
    form = PersonForm()
    form.therapists.choices = _therapist_choices()
    if form.validate_on_submit():
        try:
            issued = invitations.invite_person(
                current_user,
                name=form.name.data,
                email=form.email.data,
                role=form.role.data,
                link_for=invitation_link,
            )
        except Invalid as error:
            attach_errors(form, error)
        else:
            _show_invitation_next(issued)
            _set_first_care_team(issued.user, form.therapists.data or [])
            return redirect(url_for("clinic.person", user_id=issued.user.id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("clinic/person_new.html", form=form), status


def _set_first_care_team(person: User, therapist_ids: list[int]) -> None:
    """The care team chosen on the invite form (patients only; audited like any change)."""
    if not person.is_patient or not therapist_ids:
        return
    try:
        team = care_teams.set_care_team(current_user, person.id, therapist_ids)
    except Invalid as error:
        flash(f"The invitation was made, but the care team was not set: {error.message}", "error")
    else:
        flash(f"Care team: {', '.join(t.name for t in team)}.", "info")


def template_choices():
    return choices((t.id, t.name) for t in templates_of_clinic(current_user))


def person_page(
    person: User,
    *,
    schedule_form=None,
    booster_form=None,
    reschedule=None,
    refused=None,
    preview=None,
    status=200,
):
    """A person's page; the forms passed in (after a refused post) keep what was typed,
    ``reschedule`` (session id, form) re-opens that session's move form with its messages and
    ``refused`` (session id, message) shows why a change to that session was refused;
    ``preview`` lists the moments the course form would book (nothing booked yet)."""
    team_form = CareTeamForm()
    team_form.therapists.choices = _therapist_choices()
    sessions = []
    if person.is_patient:
        team_form.therapists.data = [t.id for t in care_teams.care_team_of(person)]
        sessions = sessions_of_patient(current_user, person.id)
    schedule_form = schedule_form or ScheduleCourseForm(formdata=None)
    booster_form = booster_form or BoosterForm(formdata=None, prefix="booster")
    schedule_form.template_id.choices = booster_form.template_id.choices = template_choices()
    return render_template(
        "clinic/person.html",
        person=person,
        team_form=team_form,
        sessions=sessions,
        schedule_form=schedule_form,
        booster_form=booster_form,
        reschedule_form=RescheduleForm(formdata=None),
        moving=reschedule or (None, None),
        refused=refused or (None, ""),
        on_record=sessions_with_day_record(
            [s.id for s in sessions if s.status == SessionStatus.SCHEDULED]
        ),
        on_record_text=ON_RECORD,
        cancel_form=CancelForm(formdata=None),
        action_form=CsrfOnlyForm(),
        preview=preview,
        invitation_notice=_invitation_notice(),
    ), status


@bp.route("/people/<int:user_id>")
def person(user_id: int):
    """One person: status, care team and (for patients) their sessions."""
    return person_page(invitations.get_person_for(current_user, user_id))


@bp.route("/people/<int:user_id>/care-team", methods=["POST"])
def set_care_team(user_id: int):
    """Replace a patient's care team with the therapists ticked."""
    person = invitations.get_person_for(current_user, user_id)
    if not person.is_patient:
        abort(404)
    form = CareTeamForm()
    form.therapists.choices = choices((t, "") for t in form.therapists.data or [])
    if form.validate_on_submit():
        try:
            team = care_teams.set_care_team(current_user, person.id, form.therapists.data or [])
        except Invalid as error:
            flash(error.message, "error")
        else:
            names = ", ".join(t.name for t in team) or "nobody"
            flash(f"Care team saved: {names}.", "info")
    return redirect(url_for("clinic.person", user_id=person.id))


@bp.route("/people/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    """Stop someone signing in; their sessions end at once."""
    if CsrfOnlyForm().validate_on_submit():
        try:
            user = invitations.set_active(current_user, user_id, False)
            flash(f"{user.name} is deactivated and signed out everywhere.", "info")
        except Conflict as error:
            flash(error.message, "error")
    return redirect(url_for("clinic.person", user_id=user_id))


@bp.route("/people/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    """Let a deactivated person sign in again."""
    if CsrfOnlyForm().validate_on_submit():
        user = invitations.set_active(current_user, user_id, True)
        flash(f"{user.name} can sign in again.", "info")
    return redirect(url_for("clinic.person", user_id=user_id))


@bp.route("/people/<int:user_id>/delete-data", methods=["POST"])
def delete_data(user_id: int):
    """Complete a patient's deletion request (type DELETE to confirm)."""
    if CsrfOnlyForm().validate_on_submit():
        try:
            delete_patient_data(current_user, user_id, request.form.get("confirm", ""))
        except (Invalid, Conflict) as error:
            flash(error.message, "error")
        else:
            flash(
                "The patient's writing and identity are deleted; the clinical record is kept.",
                "info",
            )
    return redirect(url_for("clinic.person", user_id=user_id))


@bp.route("/people/<int:user_id>/invitation", methods=["POST"])
def reissue_invitation(user_id: int):
    """A fresh invitation link (the old one stops working)."""
    if CsrfOnlyForm().validate_on_submit():
        try:
            _show_invitation_next(
                invitations.reissue_invitation(current_user, user_id, invitation_link)
            )
        except Conflict as error:
            flash(error.message, "error")
    return redirect(url_for("clinic.person", user_id=user_id))
