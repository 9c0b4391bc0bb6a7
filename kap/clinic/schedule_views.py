"""Scheduling courses and boosters, rescheduling and cancelling sessions.

A booking that clashes re-renders the patient's page (409) with each message beside its
field and everything typed kept; a room clash also offers the "Book anyway" tick.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from kap.clinic import bp
from kap.clinic.forms import BoosterForm, CancelForm, RescheduleForm, ScheduleCourseForm
from kap.clinic.people_views import person_page, template_choices
from kap.models import PATTERN_LABELS, CoursePattern
from kap.services.errors import Conflict, Invalid
from kap.services.people import invitations
from kap.services.sessions import scheduling
from kap.services.sessions.booking_conflicts import BookingClash
from kap.services.sessions.course_dates import course_local_times
from kap.timezones import local_to_utc
from kap.web.forms import attach_errors


def _refused(form, error: Invalid | BookingClash) -> int:
    """Put the service's messages on the form; remember a room clash (the tick then shows)."""
    attach_errors(form, error)
    if isinstance(error, BookingClash):
        form.room_clash = any(key in error.fields for key in ("location_label", "book_anyway"))
        return 409
    return 400


def _refused_change(session, error: Conflict):
    """The patient's page again (409), the reason beside the session that could not change."""
    person = invitations.get_person_for(current_user, session.patient_id)
    return person_page(person, refused=(session.id, error.message), status=409)


@bp.route("/people/<int:user_id>/courses", methods=["POST"])
def schedule_course(user_id: int):
    """Schedule a course from a template and a pattern."""
    person = invitations.get_person_for(current_user, user_id)
    form = ScheduleCourseForm()
    form.template_id.choices = template_choices()
    status = 400
    if request.form.get("action") == "preview":
        return _preview_course(person, form)
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
                book_anyway=form.book_anyway.data,
            )
        except (Invalid, BookingClash) as error:
            status = _refused(form, error)
        else:
            flash(
                f"Scheduled {len(course.sessions)} sessions "
                f"({PATTERN_LABELS[CoursePattern(course.pattern)].lower()}).",
                "info",
            )
            return redirect(url_for("clinic.person", user_id=person.id) + "#sessions")
    return person_page(person, schedule_form=form, status=status)


def _preview_course(person, form: ScheduleCourseForm):
    """The course form again with the dates it would book listed above its button; nothing
    is booked. The dates come from the rule scheduling uses (course_local_times)."""
    if not form.validate_on_submit():
        return person_page(person, schedule_form=form, status=400)
    try:
        local = course_local_times(
            form.pattern.data,
            start_date=form.start_date.data,
            weekdays=form.weekdays.data or [],
            clock=form.clock.data,
            custom_times=form.custom_dates.data or "",
        )
    except Invalid as error:
        attach_errors(form, error)
        return person_page(person, schedule_form=form, status=400)
    timezone = current_user.clinic.timezone
    moments = [local_to_utc(day, at, timezone) for day, at in local]
    return person_page(person, schedule_form=form, preview=moments)


@bp.route("/people/<int:user_id>/boosters", methods=["POST"])
def add_booster(user_id: int):
    """Add one booster session."""
    person = invitations.get_person_for(current_user, user_id)
    form = BoosterForm(prefix="booster")
    form.template_id.choices = template_choices()
    status = 400
    if form.validate_on_submit():
        try:
            scheduling.add_booster(
                current_user,
                person.id,
                form.template_id.data,
                form.day.data,
                form.clock.data,
                form.location_label.data or "",
                book_anyway=form.book_anyway.data,
            )
        except (Invalid, BookingClash) as error:
            status = _refused(form, error)
        else:
            flash("Booster session added.", "info")
            return redirect(url_for("clinic.person", user_id=person.id) + "#sessions")
    return person_page(person, booster_form=form, status=status)


@bp.route("/sessions/<int:session_id>/reschedule", methods=["POST"])
def reschedule_session(session_id: int):
    """Move one session; a clash or a bad date re-opens its form with the message."""
    session = scheduling.get_session_for(current_user, session_id)
    form = RescheduleForm()
    if form.validate_on_submit():
        try:
            scheduling.reschedule_session(
                current_user,
                session,
                form.day.data,
                form.clock.data,
                book_anyway=form.book_anyway.data,
            )
        except (Invalid, BookingClash) as error:
            status = _refused(form, error)
            person = invitations.get_person_for(current_user, session.patient_id)
            return person_page(person, reschedule=(session.id, form), status=status)
        except Conflict as error:
            return _refused_change(session, error)
        else:
            flash("Session moved.", "info")
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
        except Conflict as error:
            return _refused_change(session, error)
        flash("Session cancelled.", "info")
    return redirect(url_for("clinic.person", user_id=session.patient_id) + "#sessions")
