"""TOTP codes (RFC 6238), recovery-code shapes and the QR code markup: pure functions."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from kap.services.auth.recovery_codes import (
    RECOVERY_ALPHABET,
    _new_recovery_code,
    normalize_recovery_code,
)
from kap.services.auth.totp import format_secret, matching_step, normalize_code, qr_svg

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2026, 11, 23, 10, 0, 15, tzinfo=UTC)
STEP = int(AT.timestamp()) // 30


def code_at(step: int) -> str:
    return pyotp.TOTP(SECRET).generate_otp(step)


def test_code_of_the_current_step_is_accepted():
    """The code the app shows now matches, and its time step is returned."""
    assert matching_step(SECRET, code_at(STEP), AT, None) == STEP


@pytest.mark.parametrize("drift", [-1, 1])
def test_one_step_of_drift_either_way_is_accepted(drift):
    """A phone 30 seconds ahead or behind still signs in."""
    assert matching_step(SECRET, code_at(STEP + drift), AT, None) == STEP + drift


@pytest.mark.parametrize("drift", [-2, 2, -10])
def test_two_or_more_steps_of_drift_are_refused(drift):
    """A code from a minute or more away does not match."""
    assert matching_step(SECRET, code_at(STEP + drift), AT, None) is None


def test_a_used_step_is_refused():
    """Replaying the code of the last accepted step fails."""
    assert matching_step(SECRET, code_at(STEP), AT, last_step=STEP) is None


def test_an_older_step_than_the_last_accepted_is_refused():
    """After a code of step N, the (still in-window) code of step N-1 no longer works."""
    assert matching_step(SECRET, code_at(STEP - 1), AT, last_step=STEP) is None


def test_a_newer_step_after_the_last_accepted_is_accepted():
    """Thirty seconds later, the next code works."""
    later = AT + timedelta(seconds=30)
    assert matching_step(SECRET, code_at(STEP + 1), later, last_step=STEP) == STEP + 1


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", None])
def test_malformed_codes_never_match(typed):
    """Only six digits are looked at."""
    assert matching_step(SECRET, typed, AT, None) is None


def test_spaces_and_dashes_in_a_typed_code_are_ignored():
    """'123 456' is read as '123456' (apps show codes in two groups)."""
    code = code_at(STEP)
    assert normalize_code(f" {code[:3]} {code[3:]} ") == code
    assert matching_step(SECRET, f"{code[:3]}-{code[3:]}", AT, None) == STEP


def test_recovery_codes_are_random_and_typo_tolerant():
    """Codes are xxxxx-xxxxx in Crockford base32; case, dashes and o/i/l typos do not matter."""
    codes = {_new_recovery_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == 11 and code[5] == "-"
        assert set(code.replace("-", "")) <= set(RECOVERY_ALPHABET)
    assert normalize_recovery_code(" AB0C1-DE1FG ") == "ab0c1de1fg"
    assert normalize_recovery_code("abOcI-deLfg") == "ab0c1de1fg"


def test_qr_code_is_inline_svg_without_script_or_style():
    """The QR code is an SVG a strict CSP allows: no script, no style attributes, labelled."""
    svg = str(qr_svg(pyotp.TOTP(SECRET).provisioning_uri(name="a@b.test", issuer_name="KAP")))
    assert svg.startswith('<svg role="img" aria-label=')
    assert "<script" not in svg
    assert "style" not in svg
    assert " on" not in svg.lower().replace("<svg role", "")  # no event-handler attributes


def test_secret_is_grouped_for_typing():
    """The key shown for manual entry reads in groups of four."""
    assert format_secret("ABCDEFGHIJKL") == "ABCD EFGH IJKL"
