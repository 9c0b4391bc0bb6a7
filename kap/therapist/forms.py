"""Therapist forms."""

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length


class NoteForm(FlaskForm):
    body = TextAreaField(
        "New clinical note (only the care team can read it)", validators=[Length(max=20_000)]
    )


class CommentForm(FlaskForm):
    body = TextAreaField("Comment (the patient will see it)", validators=[Length(max=5000)])


class ResolveForm(FlaskForm):
    note = TextAreaField("What was done", validators=[Length(max=2000)])
