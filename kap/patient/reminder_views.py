"""The patient's Reminders page: channels, quiet hours, what is coming up and what was sent."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.patient import bp
from kap.patient.forms import ReminderChoicesForm
from kap.services.errors import Invalid
from kap.services.reminders.overview import ReminderOverview, reminder_overview
from kap.services.reminders.preferences import save_preferences
from kap.web.forms import attach_errors

#: A time the browser sent that is not a time of day (a browser without a time picker).
NOT_A_TIME = "A time of day, like 22:00."


def _render(form: ReminderChoicesForm, overview: ReminderOverview, status: int = 200):
    return render_template(
        "patient/reminders.html",
        form=form,
        overview=overview,
        prefs=overview.preference,
    ), status


@bp.route("/reminders", methods=["GET", "POST"])
def reminders():
    """Choose channels and quiet hours; below, the next reminders and those sent lately."""
    if request.method == "GET":
        overview = reminder_overview(current_user)
        return _render(ReminderChoicesForm(obj=overview.preference), overview)
    form = ReminderChoicesForm()
    if form.validate_on_submit():
        try:
            save_preferences(
                current_user,
                push=bool(form.push.data),
                email=bool(form.email.data),
                quiet_start=form.quiet_start.data,
                quiet_end=form.quiet_end.data,
            )
        except Invalid as error:
            attach_errors(form, error)
        else:
            flash("Saved. Your reminders follow your new choices from now on.", "info")
            return redirect(url_for("patient.reminders"))
    else:
        for field in (form.quiet_start, form.quiet_end):
            if field.errors:  # WTForms' "Not a valid time value." says less
                field.errors = [NOT_A_TIME]
    return _render(form, reminder_overview(current_user), 400)
