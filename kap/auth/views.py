"""Sign-in (password, then a second-factor code when needed), sign-out, account security."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kap.auth import bp
from kap.auth.forms import (
    ChangePasswordForm,
    CodeForm,
    CurrentFactorForm,
    EnrolForm,
    RecoveryCodeForm,
    SetPasswordForm,
    SignInForm,
)
from kap.auth.redirects import safe_next_path
from kap.auth.roles import home_url_for
from kap.auth.sessions import (
    begin_pending_sign_in,
    clear_pending_sign_in,
    current_token_digest,
    end_session,
    pending_sign_in,
    seal_in_session,
    start_session,
    unseal_from_session,
)
from kap.extensions import login_manager
from kap.formhelpers import attach_errors
from kap.models import Role, User
from kap.services import second_factor
from kap.services.errors import Conflict, Invalid, InvalidCredentials, NotFound, RateLimited
from kap.services.invitations import accept_invitation as accept
from kap.services.invitations import pending_invitation
from kap.services.second_factor import InvalidSecondFactor, Requirement
from kap.services.signin import authenticate
from kap.services.signin import change_password as change_own_password

ENROLMENT_KEY = "_totp_enrolment"
RECOVERY_CODES_KEY = "_recovery_codes"
NO_STORE = {"Cache-Control": "no-store"}
LAYOUTS = {
    Role.PATIENT: "patient/layout.html",
    Role.THERAPIST: "therapist/layout.html",
    Role.CLINIC_ADMIN: "clinic/layout.html",
}


def _client() -> str:
    return request.remote_addr or ""


def _limited(page: tuple, error: RateLimited) -> tuple:
    """``page`` (body, status[, headers]) answered as 429 with Retry-After."""
    headers = {**(page[2] if len(page) > 2 else {}), "Retry-After": str(error.retry_after)}
    return page[0], 429, headers


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
            return _continue_sign_in(user, form.next.data)
    elif request.method == "POST":
        status = 400
    form.password.data = ""
    return render_template("auth/sign_in.html", form=form), status


#: Sign-out leaves nothing of the person in this browser (DESIGN §6): the app's caches, its
#: databases and storage, and the HTTP cache. Cookies are left to the session's own cookie, which
#: the server revokes and deletes ("cookies" would sign out every app on the same site).
CLEAR_SITE_DATA = '"cache", "storage"'


@bp.route("/signout", methods=["POST"])
@login_required
def sign_out():
    """End the session for real (its server row is revoked) and go back to sign-in.

    The browser is told to clear the site's storage too; static/js/pwa.js has already sent the
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
                pending.user, **{field: form[field].data}, client_address=_client()
            )
        except InvalidSecondFactor as error:
            form[field].errors = [*form[field].errors, error.message]
            status = 401
        except RateLimited as error:
            form.form_errors.append(error.message)
            return _limited(_second_step_page(form, field), error)
        else:
            start_session(pending.user)
            if kind == "recovery_code":
                left = second_factor.recovery_codes_left(pending.user)
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


# --- Account security -------------------------------------------------------------------------


@bp.route("/account/security/setup", methods=["GET", "POST"])
def set_up_second_factor():
    """Set up (or replace) an authenticator: QR code and key, confirmed by a first code.

    Signed-in people come here from Account security; a clinician whose clinic requires
    two-step sign-in comes here straight after the password, before reaching any page.
    """
    pending = None
    if current_user.is_authenticated:
        user = current_user
    else:
        pending = pending_sign_in()
        if pending is None or not pending.enrol:
            return login_manager.unauthorized()
        user = pending.user
    secret = unseal_from_session(ENROLMENT_KEY, user)
    if secret is None:
        secret = second_factor.new_secret()
        seal_in_session(ENROLMENT_KEY, user, secret)
    replacing = second_factor.is_enabled(user)
    form = EnrolForm()

    def page(status: int = 200) -> tuple:
        form.code.data = form.current.data = ""
        uri = second_factor.provisioning_uri(user, secret)
        html = render_template(
            "auth/enrol.html",
            layout="base.html" if pending else LAYOUTS[Role(user.role)],
            form=form,
            replacing=replacing,
            mandatory=second_factor.is_mandatory(user),
            qr=second_factor.qr_svg(uri),
            secret=second_factor.format_secret(secret),
            email=user.email,
        )
        return html, status, NO_STORE  # the key is a secret, even before sign-in completes

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    try:
        codes = second_factor.enable(
            user,
            secret,
            form.code.data,
            current=form.current.data,
            client_address=_client(),
            keep_token_digest=None if pending else current_token_digest(),
        )
    except RateLimited as error:
        form.form_errors.append(error.message)
        return _limited(page(), error)
    except InvalidSecondFactor as error:
        attach_errors(form, error)
        return page(error.status)
    if pending:
        start_session(user)
    unseal_from_session(ENROLMENT_KEY, user, pop=True)
    if pending:  # then on to where the person was going when asked to set this up
        next_url = safe_next_path(pending.next_path) or home_url_for(user)
    else:
        next_url = url_for("auth.account_security")
    _show_codes_once(user, codes, next_url)
    flash("Two-step sign-in is on. Any other sessions of yours were signed out.", "info")
    return redirect(url_for("auth.recovery_codes"))


def _show_codes_once(user: User, codes: list[str], next_url: str) -> None:
    seal_in_session(RECOVERY_CODES_KEY, user, json.dumps({"codes": codes, "next": next_url}))


@bp.route("/account/security/recovery-codes")
@login_required
def recovery_codes():
    """The new recovery codes, shown this once (they are stored only as hashes)."""
    sealed = unseal_from_session(RECOVERY_CODES_KEY, current_user, pop=True)
    if sealed is None:
        flash("Recovery codes are shown only once. If yours are lost, make new ones.", "info")
        return redirect(url_for("auth.account_security"))
    stash = json.loads(sealed)
    html = render_template(
        "auth/recovery_codes.html",
        layout=LAYOUTS[Role(current_user.role)],
        codes=stash["codes"],
        next_url=safe_next_path(stash["next"]) or home_url_for(current_user),
    )
    return html, 200, NO_STORE


@bp.route("/account/security")
@login_required
def account_security():
    """Two-step sign-in status, recovery codes, turning it off, and changing the password."""
    return _security_page()


def _security_page(status: int = 200, **forms) -> tuple:
    user = current_user
    enabled = second_factor.is_enabled(user)
    page = render_template(
        "auth/security.html",
        layout=LAYOUTS[Role(user.role)],
        enabled=enabled,
        mandatory=second_factor.is_mandatory(user),
        enabled_at=user.totp_enabled_at,
        codes_left=second_factor.recovery_codes_left(user) if enabled else 0,
        codes_form=forms.get("codes_form") or CurrentFactorForm(prefix="codes", formdata=None),
        off_form=forms.get("off_form") or CurrentFactorForm(prefix="off", formdata=None),
        password_form=forms.get("password_form")
        or ChangePasswordForm(prefix="password", formdata=None),
    )
    return page, status


@bp.route("/account/security/recovery-codes/new", methods=["POST"])
@login_required
def new_recovery_codes():
    """Replace the recovery codes (after a current code); other sessions end."""
    form = CurrentFactorForm(prefix="codes")
    return _change_factor(form, "codes_form", second_factor.new_recovery_codes)


@bp.route("/account/security/turn-off", methods=["POST"])
@login_required
def turn_off_second_factor():
    """Turn two-step sign-in off (after a current code), where the clinic allows it."""
    form = CurrentFactorForm(prefix="off")
    return _change_factor(form, "off_form", second_factor.disable)


def _change_factor(form: CurrentFactorForm, name: str, action):
    if not form.validate_on_submit():
        return _security_page(400, **{name: form})
    try:
        codes = action(
            current_user,
            form.current.data,
            client_address=_client(),
            keep_token_digest=current_token_digest(),
        )
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("auth.account_security"))
    except RateLimited as error:
        form.form_errors.append(error.message)
        return _limited(_security_page(**{name: form}), error)
    except InvalidSecondFactor as error:
        attach_errors(form, error)
        return _security_page(error.status, **{name: form})
    if codes:
        _show_codes_once(current_user, codes, url_for("auth.account_security"))
        flash("New recovery codes are ready; the old ones no longer work.", "info")
        return redirect(url_for("auth.recovery_codes"))
    flash("Two-step sign-in is off. Any other sessions of yours were signed out.", "info")
    return redirect(url_for("auth.account_security"))


@bp.route("/account/security/password", methods=["POST"])
@login_required
def change_password():
    """Change one's own password (the current one first); other sessions end."""
    form = ChangePasswordForm(prefix="password")
    if not form.validate_on_submit():
        return _security_page(400, password_form=form)
    try:
        change_own_password(
            current_user,
            form.current_password.data,
            form.new_password.data,
            form.confirm.data,
            _client(),
            current_token_digest(),
        )
    except RateLimited as error:
        form.form_errors.append(error.message)
        return _limited(_security_page(password_form=form), error)
    except Invalid as error:
        attach_errors(form, error)
        return _security_page(400, password_form=form)
    flash("Your password is changed. Any other sessions of yours were signed out.", "info")
    return redirect(url_for("auth.account_security"))
