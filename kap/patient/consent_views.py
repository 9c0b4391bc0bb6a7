"""The clinic's consent: the patient reads the current version, signs it, and downloads the
signed copy (kap/services/screening/consent.py has the rules)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField

from kap.patient import bp
from kap.services.errors import Conflict, Invalid
from kap.services.screening import consent
from kap.web.downloads import attachment
from kap.web.forms import attach_errors


class ConsentForm(FlaskForm):
    """The signature. The document's id and the hash of the text shown travel with it, so a
    document changed while the patient read it is never signed unseen."""

    typed_name = StringField("Type your full name", render_kw={"autocomplete": "name"})
    agreed = BooleanField("I have read and agree to this consent")
    document_id = HiddenField()
    shown_sha256 = HiddenField()


def _consent_page(form: ConsentForm | None = None, status: int = 200):
    state = consent.signature_status(current_user)
    if form is None:
        form = ConsentForm(formdata=None)
    if state.current is not None:  # always the version on the page, never one sent earlier
        form.document_id.data = str(state.current.id)
        form.shown_sha256.data = state.current.sha256
    return render_template("patient/consent.html", state=state, form=form), status


@bp.route("/consent")
def consent_page():
    """The current consent document, and either the signature form or what was signed."""
    return _consent_page()


@bp.route("/consent/sign", methods=["POST"])
def sign_consent():
    """Sign the version shown; bad input or a changed document re-renders with what was typed."""
    form = ConsentForm()
    if not form.validate_on_submit():
        return _consent_page(form, 400)
    document_id = int(form.document_id.data) if (form.document_id.data or "").isdigit() else 0
    try:
        consent.sign(
            current_user,
            document_id,
            form.typed_name.data or "",
            bool(form.agreed.data),
            form.shown_sha256.data or "",
        )
    except Invalid as error:
        attach_errors(form, error)
        return _consent_page(form, 400)
    except Conflict as error:
        form.agreed.data = False  # agree again, to the text now shown
        form.form_errors.append(error.message)
        return _consent_page(form, 409)
    flash("Thank you. Your consent is signed.", "info")
    return redirect(url_for("patient.consent_page"))


@bp.route("/consent/signatures/<int:signature_id>/copy")
def consent_copy(signature_id: int):
    """The signed copy: the exact text signed and the signature, as a Markdown file."""
    copy = consent.signed_copy(current_user, signature_id)
    return attachment(copy.text, mimetype="text/markdown", filename=copy.filename)
