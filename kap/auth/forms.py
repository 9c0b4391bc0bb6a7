"""Sign-in, second-factor and account-security forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

_CODE_INPUT = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "autocapitalize": "none",
    "spellcheck": "false",
}
#: Fields that also take a recovery code (letters too): the browser must not fill or correct them.
_ANY_CODE_INPUT = {"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}


def _password(label: str, message: str, autocomplete: str) -> PasswordField:
    """A required password field; ``autocomplete`` tells password managers what it is."""
    return PasswordField(
        label,
        validators=[DataRequired(message), Length(max=1024)],
        render_kw={"autocomplete": autocomplete},
    )


def _authenticator_code(message: str) -> StringField:
    """The code an authenticator app shows (room for the spaces and dashes people type)."""
    return StringField(
        "Authentication code",
        validators=[DataRequired(message), Length(max=32)],
        render_kw=_CODE_INPUT,
    )


class SignInForm(FlaskForm):
    """Email and password. No format check on the email: a wrong one just fails to match."""

    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email."), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = _password("Password", "Enter your password.", "current-password")
    next = HiddenField()
    submit = SubmitField("Sign in")


class SetPasswordForm(FlaskForm):
    """Choosing a password from an invitation link."""

    password = _password("New password", "Choose a password.", "new-password")
    confirm = _password("Repeat the password", "Repeat the password.", "new-password")
    submit = SubmitField("Set password and sign in")


class CodeForm(FlaskForm):
    """The six-digit code from an authenticator app, at sign-in."""

    code = _authenticator_code("Enter the code from your authenticator app.")
    submit = SubmitField("Verify")


class RecoveryCodeForm(FlaskForm):
    """One of the ten recovery codes, at sign-in, when the phone is not at hand."""

    recovery_code = StringField(
        "Recovery code",
        validators=[DataRequired("Enter one of your recovery codes."), Length(max=64)],
        render_kw=_ANY_CODE_INPUT,
    )
    submit = SubmitField("Verify")


class EnrolForm(FlaskForm):
    """Confirm a new authenticator with its first code (and prove the old one, if replacing)."""

    current = StringField(
        "Code from your current app, or a recovery code",
        validators=[Optional(), Length(max=64)],
        render_kw=_ANY_CODE_INPUT,
    )
    code = _authenticator_code("Enter the code the app shows now.")
    submit = SubmitField("Turn on two-step sign-in")


class CurrentFactorForm(FlaskForm):
    """A current code (or an unused recovery code) before changing the second factor."""

    current = StringField(
        "Authentication code or a recovery code",
        validators=[DataRequired("Enter a code from your authenticator app."), Length(max=64)],
        render_kw=_ANY_CODE_INPUT,
    )


class ChangePasswordForm(FlaskForm):
    """Changing one's own password: the current one first."""

    current_password = _password(
        "Current password", "Enter your current password.", "current-password"
    )
    new_password = _password("New password", "Choose a new password.", "new-password")
    confirm = _password("Repeat the new password", "Repeat the new password.", "new-password")
    submit = SubmitField("Change password")
