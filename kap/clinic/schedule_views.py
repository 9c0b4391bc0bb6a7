"""Scheduling courses and boosters, rescheduling and cancelling sessions."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from kap.clinic import bp
from kap.clinic.forms import BoosterForm, CancelForm, RescheduleForm, ScheduleCourseForm
from kap.clinic.people_views import person_page, template_choices
from kap.formhelpers import attach_errors
from kap.models import PATTERN_LABELS, CoursePattern
from kap.services import invitations, scheduling
from kap.services.errors import Conflict, Invalid


@bp.route("/people/<int:user_id>/courses", methods=["POST"])
def schedule_course(user_id: int):
    """Schedule a course from a template and a pattern."""
    person = invitations.get_person_for(current_user, user_id)
    form = ScheduleCourseForm()
    form.template_id.choices = template_choices()
    if form.validate_on_submit():
        try:
            course = scheduling.schedule_course(
                current_user,
                person.id,
                form.template_id.data,
                form.pattern.data,
                start_date=form.start_date.data,
                weekdays=form.weekdays.data or [],
                clock=form.clock.data,
                custom_times=form.custom_dates.data or "",
                location_label=form.location_label.data or "",
            )
        except Invalid as error:
            attach_errors(form, error)
        else:
            flash(
                f"Scheduled {len(course.sessions)} sessions "
                f"({PATTERN_LABELS[CoursePattern(course.pattern)].lower()}).",
                "info",
            )
            return redirect(url_for("clinic.person", user_id=person.id) + "#sessions")
    return person_page(person, schedule_form=form, status=400)


@bp.route("/people/<int:user_id>/boosters", methods=["POST"])
def add_booster(user_id: int):
    """Add one booster session."""
    person = invitations.get_person_for(current_user, user_id)
    form = BoosterForm(prefix="booster")
    form.template_id.choices = template_choices()
    if form.validate_on_submit():
        try:
            scheduling.add_booster(
                current_user,
                person.id,
                form.template_id.data,
                form.day.data,
                form.clock.data,
                form.location_label.data or "",
            )
        except Invalid as error:
            attach_errors(form, error)
        else:
            flash("Booster session added.", "info")
            return redirect(url_for("clinic.person", user_id=person.id) + "#sessions")
    return person_page(person, booster_form=form, status=400)


@bp.route("/sessions/<int:session_id>/reschedule", methods=["POST"])
def reschedule_session(session_id: int):
    """Move one session."""
    session = scheduling.get_session_for(current_user, session_id)
    form = RescheduleForm()
    if form.validate_on_submit():
        try:
            scheduling.reschedule_session(current_user, session, form.day.data, form.clock.data)
            flash("Session moved.", "info")
        except (Invalid, Conflict) as error:
            messages = [m for field_messages in error.fields.values() for m in field_messages]
            flash(" ".join(messages) or error.message, "error")
    else:
        flash("Choose the new date and time.", "error")
    return redirect(url_for("clinic.person", user_id=session.patient_id) + "#sessions")


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
def cancel_session(session_id: int):
    """Cancel one session (it stays on record)."""
    session = scheduling.get_session_for(current_user, session_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            scheduling.cancel_session(current_user, session, form.reason.data or "")
            flash("Session cancelled.", "info")
        except Conflict as error:
            flash(error.message, "error")
    return redirect(url_for("clinic.person", user_id=session.patient_id) + "#sessions")
