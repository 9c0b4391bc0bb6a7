"""The clinic's consent document: its versions, and writing the next one (Markdown)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

from kap.clinic import bp
from kap.services.errors import Conflict, Invalid
from kap.services.screening import consent
from kap.web.forms import attach_errors


class ConsentDocumentForm(FlaskForm):
    title = StringField("Title")
    body_markdown = TextAreaField("Consent text (Markdown)")
    #: The version the admin started from: a version saved meanwhile is never overwritten.
    based_on = HiddenField()


@bp.route("/consent", methods=["GET", "POST"])
def consent_documents():
    """Every version, newest (current) first; saving a change makes the next version."""
    rows = consent.documents_of(current_user)
    current = rows[0].document if rows else None
    newest = current.version if current else 0
    if request.method == "GET":
        form = ConsentDocumentForm(
            formdata=None,
            title=current.title if current else "",
            body_markdown=current.body_markdown if current else "",
            based_on=str(newest),
        )
        return render_template("clinic/consent.html", rows=rows, form=form)
    form = ConsentDocumentForm()
    if form.validate_on_submit():
        based_on = form.based_on.data or ""
        try:
            saved = consent.save_document(
                current_user,
                form.title.data or "",
                form.body_markdown.data or "",
                based_on=int(based_on) if based_on.isdigit() else None,
            )
        except (Invalid, Conflict) as error:
            attach_errors(form, error)
            form.based_on.data = str(newest)  # saving again now replaces what they saw
            status = 409 if isinstance(error, Conflict) else 400
            return render_template("clinic/consent.html", rows=rows, form=form), status
        if saved.created:
            flash(
                f"Saved as version {saved.document.version}. Patients will be asked to sign it.",
                "info",
            )
        else:
            flash("Nothing changed, so no new version was made.", "info")
        return redirect(url_for("clinic.consent_documents"))
    return render_template("clinic/consent.html", rows=rows, form=form), 400
