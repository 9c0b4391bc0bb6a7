"""Account security pages: two-step sign-in set-up, recovery codes, turning it off, password.

Registered on the auth blueprint beside sign-in (``kap.auth.views``); the set-up page also
serves a clinician whose clinic requires two-step sign-in, straight after their password.
"""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kap.auth import bp
from kap.auth.forms import ChangePasswordForm, CurrentFactorForm, EnrolForm
from kap.auth.login import (
    current_token_digest,
    pending_sign_in,
    seal_in_session,
    start_session,
    unseal_from_session,
)
from kap.auth.throttling import client_address, too_many_attempts
from kap.extensions import login_manager
from kap.models import Role, User
from kap.services.auth import second_factor, totp
from kap.services.auth.recovery_codes import recovery_codes_left
from kap.services.auth.second_factor import InvalidSecondFactor
from kap.services.auth.signin import change_password as change_own_password
from kap.services.errors import Conflict, Invalid, RateLimited
from kap.web.forms import attach_errors
from kap.web.redirects import safe_next_path
from kap.web.roles import home_url_for

ENROLMENT_KEY = "_totp_enrolment"
RECOVERY_CODES_KEY = "_recovery_codes"
NO_STORE = {"Cache-Control": "no-store"}
LAYOUTS = {
    Role.PATIENT: "patient/layout.html",
    Role.THERAPIST: "therapist/layout.html",
    Role.CLINIC_ADMIN: "clinic/layout.html",
}


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
        secret = totp.new_secret()
        seal_in_session(ENROLMENT_KEY, user, secret)
    replacing = second_factor.is_enabled(user)
    form = EnrolForm()

    def page(status: int = 200) -> tuple:
        form.code.data = form.current.data = ""
        uri = totp.provisioning_uri(user, secret)
        html = render_template(
            "auth/enrol.html",
            layout="base.html" if pending else LAYOUTS[Role(user.role)],
            form=form,
            replacing=replacing,
            mandatory=second_factor.is_mandatory(user),
            qr=totp.qr_svg(uri),
            secret=totp.format_secret(secret),
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
            client_address=client_address(),
            keep_token_digest=None if pending else current_token_digest(),
        )
    except RateLimited as error:
        form.form_errors.append(error.message)
        return too_many_attempts(page(), error)
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
        codes_left=recovery_codes_left(user) if enabled else 0,
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
            client_address=client_address(),
            keep_token_digest=current_token_digest(),
        )
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("auth.account_security"))
    except RateLimited as error:
        form.form_errors.append(error.message)
        return too_many_attempts(_security_page(**{name: form}), error)
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
            client_address(),
            current_token_digest(),
        )
    except RateLimited as error:
        form.form_errors.append(error.message)
        return too_many_attempts(_security_page(password_form=form), error)
    except Invalid as error:
        attach_errors(form, error)
        return _security_page(400, password_form=form)
    flash("Your password is changed. Any other sessions of yours were signed out.", "info")
    return redirect(url_for("auth.account_security"))
