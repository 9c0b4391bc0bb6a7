"""Every route, every role: the expected status. A new route without a row fails this test.

CSRF is switched off here because this test is about who may reach what; the CSRF rules
have their own tests that post real forms.
"""

import pytest

from kap import create_app
from kap.config import TestConfig
from tests.conftest import Auth

ROLES = ("anonymous", "patient", "therapist", "clinic_admin")
SIGN_IN_AS = {
    "patient": "patient@demo.test",
    "therapist": "therapist@demo.test",
    "clinic_admin": "admin@demo.test",
}


def expect(anonymous, patient, therapist, clinic_admin):
    return dict(zip(ROLES, (anonymous, patient, therapist, clinic_admin), strict=True))


# (endpoint, method) -> expected status per role. Ids are the demo patient's (in reach of
# therapist@demo.test and admin@demo.test); out-of-reach ids are covered in test_tenancy.
MATRIX = {
    ("auth.index", "GET"): expect(302, 302, 302, 302),
    ("auth.sign_in", "GET"): expect(200, 302, 302, 302),
    ("auth.sign_in", "POST"): expect(400, 400, 400, 400),
    ("auth.sign_out", "POST"): expect(302, 302, 302, 302),
    ("patient.home", "GET"): expect(302, 200, 302, 302),
    ("patient.crisis_support", "GET"): expect(302, 200, 302, 302),
    ("therapist.dashboard", "GET"): expect(302, 302, 200, 302),
    ("clinic.home", "GET"): expect(302, 302, 302, 200),
    ("api.create_session", "POST"): expect(400, 400, 400, 400),
    ("api.delete_session", "DELETE"): expect(401, 200, 200, 200),
    ("api.me", "GET"): expect(401, 200, 200, 200),
    ("api.list_patients", "GET"): expect(401, 403, 200, 200),
    ("api.get_patient", "GET"): expect(401, 403, 200, 200),
    ("ops.healthz", "GET"): expect(200, 200, 200, 200),
    ("favicon", "GET"): expect(301, 301, 301, 301),
}

SKIPPED_ENDPOINTS = {"static"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, people):
    values = {}
    for argument in rule.arguments:
        if argument == "patient_id":
            values[argument] = people["patient@demo.test"].id
        else:
            raise AssertionError(f"add a sample value for <{argument}> in {rule.endpoint}")
    return rule.build(values)[1]


def test_every_route_has_a_row():
    """Each (endpoint, method) in the app has an expected outcome for every role."""

    class NoCsrf(TestConfig):
        WTF_CSRF_ENABLED = False

    app = create_app(NoCsrf())
    routes = {(rule.endpoint, method) for rule, method in _routes(app)}
    missing = routes - MATRIX.keys()
    stale = MATRIX.keys() - routes
    assert not missing, f"routes without an access-matrix row: {sorted(missing)}"
    assert not stale, f"access-matrix rows for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_status_everywhere(app, people, role):
    """Walk every route as ``role`` and compare with the matrix."""
    app.config["WTF_CSRF_ENABLED"] = False
    failures = []
    for rule, method in _routes(app):
        client = app.test_client()
        if role != "anonymous":
            assert Auth(client).api_login(SIGN_IN_AS[role]).status_code == 200
        url = _url(rule, people)
        status = client.open(url, method=method).status_code
        expected = MATRIX[(rule.endpoint, method)][role]
        if status != expected:
            failures.append(f"{method} {url} as {role}: {status}, expected {expected}")
    assert not failures, "\n".join(failures)
