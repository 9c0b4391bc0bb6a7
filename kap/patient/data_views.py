"""The patient's data rights: download everything, or ask for deletion."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from kap.patient import bp
from kap.services.people.data_rights import export_patient_data, request_deletion
from kap.services.people.fhir_export import patient_bundle
from kap.web.downloads import attachment
from kap.web.forms import CsrfOnlyForm


@bp.route("/my-data")
def my_data():
    """What the patient can download, and how deletion works."""
    return render_template("patient/my_data.html", form=CsrfOnlyForm())


@bp.route("/my-data/export.json")
def export_json():
    """Everything, as a JSON file to keep."""
    body = json.dumps(export_patient_data(current_user), ensure_ascii=False, indent=2)
    return attachment(body, mimetype="application/json", filename="kap-companion-my-data.json")


@bp.route("/my-data/record.fhir.json")
def export_fhir():
    """The record as a FHIR R4 Bundle, the health-data standard another clinic's system reads."""
    body = json.dumps(patient_bundle(current_user, current_user.id), ensure_ascii=False, indent=2)
    return attachment(body, mimetype="application/fhir+json", filename="kap-record.fhir.json")


@bp.route("/my-data/export")
def export_page():
    """Everything, as a page to read or print."""
    return render_template("patient/my_data_export.html", data=export_patient_data(current_user))


@bp.route("/my-data/deletion", methods=["POST"])
def ask_for_deletion():
    """Ask the clinic to delete the account and its data."""
    if CsrfOnlyForm().validate_on_submit():
        request_deletion(current_user)
        flash(
            "Your request is recorded. Your clinic will complete the deletion and may contact "
            "you about records it must keep by law.",
            "info",
        )
    return redirect(url_for("patient.my_data"))
