"""Sign-in and sign-out pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kap.auth import bp
from kap.auth.forms import SetPasswordForm, SignInForm
from kap.auth.redirects import safe_next_path
from kap.auth.roles import home_url_for
from kap.auth.sessions import end_session, start_session
from kap.formhelpers import attach_errors
from kap.services.errors import Invalid, InvalidCredentials, NotFound, RateLimited
from kap.services.invitations import accept_invitation as accept
from kap.services.invitations import pending_invitation
from kap.services.signin import authenticate


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
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr or "")
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
        else:
            start_session(user)
            return redirect(safe_next_path(form.next.data) or home_url_for(user))
    elif request.method == "POST":
        status = 400
    form.password.data = ""
    return render_template("auth/sign_in.html", form=form), status


@bp.route("/signout", methods=["POST"])
@login_required
def sign_out():
    """End the session for real (its server row is revoked) and go back to sign-in."""
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.sign_in"))


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
        else:
            start_session(user)
            flash("Your password is set. Welcome to KAP Companion.", "info")
            return redirect(home_url_for(user))
    status = 400 if form.errors else 200
    return render_template("auth/accept_invitation.html", form=form, person=invitation.user), status
