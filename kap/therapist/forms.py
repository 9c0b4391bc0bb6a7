"""Therapist forms."""

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length


class NoteForm(FlaskForm):
    body = TextAreaField(
        "New clinical note (only the care team can read it)", validators=[Length(max=20_000)]
    )


class CommentForm(FlaskForm):
    body = TextAreaField("Comment (the patient will see it)", validators=[Length(max=5000)])


class ResolveForm(FlaskForm):
    note = TextAreaField("What was done", validators=[Length(max=2000)])


class IntakeDecisionForm(FlaskForm):
    """The clinician's decision on an intake; the service checks it (a note unless cleared)."""

    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("cleared", "Cleared"),
            SelectChoice("not_cleared", "Not cleared"),
            SelectChoice("needs_assessment", "Needs assessment"),
        ],
        validate_choice=False,  # the service's message, with the rest of its checks
    )
    note = TextAreaField(
        "Note (required unless cleared; the patient does not see it)",
        validators=[Length(max=2000, message="Keep the note under 2,000 characters.")],
    )
