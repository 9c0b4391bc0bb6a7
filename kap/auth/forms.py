"""Sign-in, second-factor and account-security forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional


class SignInForm(FlaskForm):
    """Email and password. No format check on the email: a wrong one just fails to match."""

    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email."), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
    submit = SubmitField("Sign in")


class SetPasswordForm(FlaskForm):
    """Choosing a password from an invitation link."""

    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password."), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired("Repeat the password."), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Set password and sign in")


_CODE_INPUT = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "autocapitalize": "none",
    "spellcheck": "false",
}


class CodeForm(FlaskForm):
    """The six-digit code from an authenticator app, at sign-in."""

    code = StringField(
        "Authentication code",
        validators=[DataRequired("Enter the code from your authenticator app."), Length(max=32)],
        render_kw=_CODE_INPUT,
    )
    submit = SubmitField("Verify")


class RecoveryCodeForm(FlaskForm):
    """One of the ten recovery codes, at sign-in, when the phone is not at hand."""

    recovery_code = StringField(
        "Recovery code",
        validators=[DataRequired("Enter one of your recovery codes."), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    submit = SubmitField("Verify")


class EnrolForm(FlaskForm):
    """Confirm a new authenticator with its first code (and prove the old one, if replacing)."""

    current = StringField(
        "Code from your current app, or a recovery code",
        validators=[Optional(), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    code = StringField(
        "Authentication code",
        validators=[DataRequired("Enter the code the app shows now."), Length(max=32)],
        render_kw=_CODE_INPUT,
    )
    submit = SubmitField("Turn on two-step sign-in")


class CurrentFactorForm(FlaskForm):
    """A current code (or an unused recovery code) before changing the second factor."""

    current = StringField(
        "Authentication code or a recovery code",
        validators=[DataRequired("Enter a code from your authenticator app."), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class ChangePasswordForm(FlaskForm):
    """Changing one's own password: the current one first."""

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a new password."), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired("Repeat the new password."), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change password")
