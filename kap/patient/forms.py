"""Patient forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, TextAreaField, TimeField
from wtforms.validators import Length, NumberRange, Optional

from kap.services.sessions.flow import MAX_INTENTION_LENGTH


class IntentionForm(FlaskForm):
    text = TextAreaField(
        "Your intention",
        validators=[Length(max=MAX_INTENTION_LENGTH, message="Keep it under 5,000 characters.")],
    )


class JournalEntryForm(FlaskForm):
    """An entry. Length is checked by the service so the message and the rule live together."""

    body = TextAreaField("What would you like to write?")
    mood = IntegerField(
        "Mood right now, 0 (lowest) to 10 (best) — optional",
        validators=[Optional(), NumberRange(0, 10, "Choose a number from 0 to 10.")],
    )
    shared = BooleanField("Share this entry with my care team")
    session_id = HiddenField()
    client_id = HiddenField()


class CommentForm(FlaskForm):
    body = TextAreaField("Reply", validators=[Length(max=5000)])


class ReminderChoicesForm(FlaskForm):
    """Channels and quiet hours; the pair rule (both or neither, different) is the service's."""

    push = BooleanField("Notifications on this phone or computer")
    email = BooleanField("E-mail")
    quiet_start = TimeField(
        "Quiet from", format="%H:%M", validators=[Optional()], render_kw={"step": 60}
    )
    quiet_end = TimeField(
        "Quiet until", format="%H:%M", validators=[Optional()], render_kw={"step": 60}
    )
