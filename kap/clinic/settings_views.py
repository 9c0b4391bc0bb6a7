"""Clinic settings: name, time zone, preparation numbers, start window, phone, crisis contacts."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from kap.clinic import bp
from kap.clinic.forms import SettingsForm
from kap.clinic.template_form import contacts_from_form
from kap.services.clinic.settings import MAX_CONTACTS, update_settings
from kap.services.errors import Invalid
from kap.web.forms import attach_errors


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Edit the clinic's settings; crisis contacts show on every patient's Crisis support page."""
    clinic = current_user.clinic
    form = SettingsForm(obj=clinic)
    contacts = list(clinic.crisis_contacts)
    errors = {}
    status = 200
    if request.method == "POST":
        contacts = contacts_from_form(request.form)
        if form.validate_on_submit():
            try:
                update_settings(
                    current_user,
                    name=form.name.data,
                    timezone=form.timezone.data,
                    fasting_hours=form.fasting_hours.data,
                    clear_liquids_hours=form.clear_liquids_hours.data,
                    substance_free_hours=form.substance_free_hours.data,
                    start_window_minutes=form.start_window_minutes.data,
                    phone=form.phone.data or "",
                    crisis_contacts=contacts,
                )
            except Invalid as error:
                errors = error.fields
                attach_errors(
                    form,
                    Invalid(
                        error.message,
                        {k: v for k, v in error.fields.items() if not k.startswith("contacts")},
                    ),
                )
            else:
                flash("Settings saved.", "info")
                return redirect(url_for("clinic.settings"))
        status = 400
    while len(contacts) < MAX_CONTACTS:
        contacts.append({})
    return render_template(
        "clinic/settings.html", form=form, contacts=contacts, contact_errors=errors
    ), status
