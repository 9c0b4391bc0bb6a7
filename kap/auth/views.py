"""Sign-in (password, then a second-factor code when needed), invitations and sign-out.

Account security (two-step set-up, recovery codes, password) is in ``security_views``.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kap.auth import bp
from kap.auth.forms import CodeForm, RecoveryCodeForm, SetPasswordForm, SignInForm
from kap.auth.login import (
    begin_pending_sign_in,
    clear_pending_sign_in,
    end_session,
    pending_sign_in,
    start_session,
)
from kap.auth.throttling import client_address, too_many_attempts
from kap.models import User
from kap.services.auth import second_factor
from kap.services.auth.recovery_codes import recovery_codes_left
from kap.services.auth.second_factor import InvalidSecondFactor, Requirement
from kap.services.auth.signin import authenticate
from kap.services.errors import Invalid, InvalidCredentials, NotFound, RateLimited, Unavailable
from kap.services.people.invitations import accept_invitation as accept
from kap.services.people.invitations import pending_invitation
from kap.web.forms import attach_errors
from kap.web.redirects import safe_next_path
from kap.web.roles import home_url_for


def _continue_sign_in(user: User, next_path: str | None):
    """After a correct password: sign in, or ask for a code, or have the person set one up."""
    need = second_factor.requirement(user)
    if need is Requirement.NONE:
        start_session(user)
        return redirect(safe_next_path(next_path) or home_url_for(user))
    enrol = need is Requirement.ENROL
    begin_pending_sign_in(user, next_path, enrol=enrol)
    return redirect(url_for("auth.set_up_second_factor" if enrol else "auth.enter_code"))


@bp.route("/")
def index():
    """Home: the signed-in user's own start page, or sign-in."""
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    return redirect(url_for("auth.sign_in"))


@bp.route("/signin", methods=["GET", "POST"])
def sign_in():
    """Show the sign-in form; on success go to ``next`` (same site only) or the role's home."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(safe_next_path(form.next.data) or home_url_for(current_user))
        clear_pending_sign_in()  # back at the start: a half-done sign-in is dropped
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, client_address())
        except InvalidCredentials as error:
            form.form_errors.append(error.message)
            status = 401
        except RateLimited as error:
            form.form_errors.append(error.message)
            return (
                render_template("auth/sign_in.html", form=form),
                429,
                {"Retry-After": str(error.retry_after)},
            )
        except Unavailable as error:  # the attempt counters cannot be reached: fail closed
            form.form_errors.append(error.message)
            status = 503
        else:
            return _continue_sign_in(user, form.next.data)
    elif request.method == "POST":
        status = 400
    form.password.data = ""
    return render_template("auth/sign_in.html", form=form), status


#: Sign-out leaves nothing of the person in this browser (SECURITY.md): the app's caches, its
#: databases and storage, and the HTTP cache. Cookies are left to the session's own cookie, which
#: the server revokes and deletes ("cookies" would sign out every app on the same site).
CLEAR_SITE_DATA = '"cache", "storage"'


@bp.route("/signout", methods=["POST"])
@login_required
def sign_out():
    """End the session for real (its server row is revoked) and go back to sign-in.

    The browser is told to clear the site's storage too; static/js/pages/pwa.js has already sent the
    outbox (or warned about what could not be sent) and removed what it could itself.
    """
    end_session()
    flash("You are signed out.", "info")
    response = redirect(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Set a password from a one-time invitation link, then sign in."""
    try:
        invitation = pending_invitation(token)
    except NotFound as error:
        return render_template("auth/invitation_invalid.html", message=error.message), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accept(token, form.password.data, form.confirm.data)
        except Invalid as error:
            attach_errors(form, error)
        except NotFound as error:  # used by a simultaneous request a moment ago
            return render_template("auth/invitation_invalid.html", message=error.message), 404
        else:
            response = _continue_sign_in(user, None)
            flash("Your password is set. Welcome to KAP Companion.", "info")
            return response
    status = 400 if form.errors else 200
    return render_template("auth/accept_invitation.html", form=form, person=invitation.user), status


# --- The second step of sign-in -------------------------------------------------------------


@bp.route("/signin/code", methods=["GET", "POST"])
def enter_code():
    """Second step of sign-in: the code from the authenticator app."""
    return _second_step(CodeForm(), "code")


@bp.route("/signin/recovery", methods=["GET", "POST"])
def enter_recovery_code():
    """Second step of sign-in with a one-time recovery code instead of the app."""
    return _second_step(RecoveryCodeForm(), "recovery_code")


def _second_step(form: CodeForm | RecoveryCodeForm, field: str):
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    pending = pending_sign_in()
    if pending is None:
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.sign_in"))
    if pending.enrol:
        return redirect(url_for("auth.set_up_second_factor"))
    status = 200
    if form.validate_on_submit():
        try:
            kind = second_factor.check_sign_in(
                pending.user, **{field: form[field].data}, client_address=client_address()
            )
        except InvalidSecondFactor as error:
            form[field].errors = [*form[field].errors, error.message]
            status = 401
        except RateLimited as error:
            form.form_errors.append(error.message)
            return too_many_attempts(_second_step_page(form, field), error)
        else:
            start_session(pending.user)
            if kind == "recovery_code":
                left = recovery_codes_left(pending.user)
                flash(
                    f"You signed in with a recovery code; {left} left. Make new ones, or set "
                    "up a new phone, under Account security.",
                    "info",
                )
            return redirect(safe_next_path(pending.next_path) or home_url_for(pending.user))
    elif request.method == "POST":
        status = 400
    return _second_step_page(form, field)[0], status


def _second_step_page(form, field: str) -> tuple:
    form[field].data = ""
    page = render_template("auth/second_factor.html", form=form, field=form[field])
    return page, 200
