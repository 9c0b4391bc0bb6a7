"""Form plumbing every blueprint shares: the CSRF-only form, and service errors shown in place."""

from __future__ import annotations

from flask_wtf import FlaskForm

from kap.services.errors import DomainError


def attach_errors(form: FlaskForm, error: DomainError) -> None:
    """Show each field error beside its field; anything else at the top of the form."""
    placed = False
    for name, messages in error.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
            placed = True
        else:
            form.form_errors.extend(messages)
            placed = True
    if not placed:
        form.form_errors.append(error.message)


class CsrfOnlyForm(FlaskForm):
    """For buttons and hand-parsed forms: CSRF protection and nothing else."""
