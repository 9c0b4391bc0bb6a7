"""Sign-in form."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


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
