"""TOTP codes from an authenticator app (RFC 6238): secrets, matching a code, the setup QR code.

Pure functions: which time step a typed code belongs to, and what the person scans or types to
set up their app. Accepting a code for an account (once only) is ``second_factor``'s job.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp
import segno
from markupsafe import Markup

from kap.models import User

ISSUER = "KAP Companion"
STEP_SECONDS = 30
#: Steps either side of the server's clock that still count (phones drift a little).
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh random TOTP secret (160 bits, base32)."""
    return pyotp.random_base32(32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, interval=STEP_SECONDS)


def normalize_code(text: str | None) -> str:
    """The digits of a typed code: spaces and dashes dropped ('123 456' is '123456')."""
    return re.sub(r"[\s-]", "", text or "")


def matching_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (within DRIFT_STEPS of ``at``), if not used before.

    Steps at or before ``last_step`` are refused, so a code (or an older one) works once.
    """
    code = normalize_code(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = _totp(secret)
    now_step = totp.timecode(at)
    found = None
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        # Compare every candidate (no early exit) so timing says nothing about which matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """``uri`` as an inline SVG QR code: black on white, no script, no style attributes.

    segno writes only presentation attributes (fill, stroke), which a strict CSP allows.
    """
    svg = segno.make(uri, error="m", micro=False).svg_inline(
        scale=1,
        dark="#000",
        light="#fff",
        border=4,
        svgclass="qr-code",
        lineclass=None,
        omitsize=True,  # a viewBox instead: the code scales to the width it is given
    )
    if "<script" in svg or "style=" in svg or not svg.startswith("<svg "):
        raise RuntimeError("unexpected QR code markup")
    label = "QR code for your authenticator app; the key is also written out below"
    attributes = f'role="img" aria-label="{label}" width="100%" shape-rendering="crispEdges"'
    return Markup(svg.replace("<svg ", f"<svg {attributes} ", 1))  # noqa: S704 - no input text


def format_secret(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
