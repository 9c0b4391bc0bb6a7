"""Schemathesis fuzzes every described operation in-process: no 5xx, answers as described.

The description is kap.api.openapi.build_spec(), which is exactly what
/api/v1/openapi.json serves (test_openapi checks that). Each operation gets a bounded,
derandomized set of schema-valid and schema-invalid requests — signed out, as the demo
patient and as their therapist — against one seeded app per module. Select with ``-m fuzz``.

Inputs that once answered 500 (ids past the database range, non-ASCII digits, a phase that
is not a string, device times with no UTC equivalent, NUL characters) have regression tests
at the end of this module; the fuzzer sends them too.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from kap import create_app
from kap.api.openapi import build_spec
from kap.config import TestConfig
from kap.demo.seed import seed_demo
from kap.extensions import db, limiter
from tests.database import reset_database
from tests.helpers import ApiClient

pytestmark = pytest.mark.fuzz

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
EXAMPLES = 25
SIGNED_OUT_EXAMPLES = 5  # every signed-in operation answers 401 (or 400) whatever is sent
ON_POSTGRESQL = os.environ.get("KAP_TEST_DATABASE_URL", "").startswith("postgresql")


def load_schema(examples: int, phases: list[str]):
    """The description as Schemathesis sees it, with these phases and checks."""
    loaded = schemathesis.openapi.from_dict(build_spec())
    loaded.config.generation.update(
        max_examples=examples, deterministic=True, with_security_parameters=False
    )
    loaded.config.phases.update(phases=phases)
    loaded.config.phases.coverage.unexpected_methods = set()  # 405s: test_bad_input
    loaded.config.checks.update(included_check_names=CHECKS)
    return loaded


def open_to(role: str, *, public: bool):
    """Operations ``role`` may use (others answer 403 before reading input); ``public`` too?"""

    def matches(ctx) -> bool:
        roles = ctx.operation.definition.raw.get("x-kap-roles")
        return public if roles is None else (not roles or role in roles)

    return matches


# Signed in: schema examples, boundary values ("coverage") and random fuzzing.
schema = load_schema(EXAMPLES, ["examples", "coverage", "fuzzing"])
patient_schema = schema.include(open_to("patient", public=True))
therapist_schema = schema.include(open_to("therapist", public=False))
# Signed out, the input hardly matters: a few random requests per operation.
signed_out_schema = load_schema(SIGNED_OUT_EXAMPLES, ["examples", "fuzzing"])


def fuzz_settings(examples: int) -> settings:
    """Bounded and derandomized, so CI sees the same requests on every run."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """One app with the demo data for the whole module (fuzzing only adds to it)."""
    app = create_app(TestConfig())
    app.config["MEDIA_DIR"] = str(tmp_path_factory.mktemp("media"))
    with app.app_context():
        reset_database(app)
        seed_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def api_session(app, email: str) -> tuple[dict[str, str], dict[str, str]]:
    """The (cookies, headers) of a fresh API sign-in as ``email``."""
    with app.app_context():
        limiter.reset()  # fuzzing POST /session runs into the sign-in limits on purpose
    api = ApiClient.signed_in(app, email)
    return {"kap_session": api.client.get_cookie("kap_session").value}, api.headers


@pytest.fixture
def patient_session(fuzz_app):
    """A session per operation, so fuzzing DELETE /session ends only its own."""
    return api_session(fuzz_app, "patient@demo.test")


@pytest.fixture
def therapist_session(fuzz_app):
    """The demo patient's therapist, a session per operation."""
    return api_session(fuzz_app, "therapist@demo.test")


def send(case, app, cookies=None, headers=None) -> None:
    """Send the case and run every check on the answer.

    Schemathesis's WSGI transport offers gzip but does not decode it, and the app compresses
    what is offered (kap/web/static_files.py); the checks need the plain body, so ask for it."""
    headers = {"Accept-Encoding": "identity", **(headers or {})}
    case.call_and_validate(app=app, cookies=cookies or {}, headers=headers)


@signed_out_schema.parametrize()
@fuzz_settings(SIGNED_OUT_EXAMPLES)
def test_api_signed_out(case, fuzz_app):
    """Anyone: public operations work; every other one answers in the error format."""
    send(case, fuzz_app)


@patient_schema.parametrize()
@fuzz_settings(EXAMPLES)
def test_api_as_patient(case, fuzz_app, patient_session):
    """The demo patient, who owns sessions, journal entries and check-ins."""
    send(case, fuzz_app, *patient_session)


@therapist_schema.parametrize()
@fuzz_settings(EXAMPLES)
def test_api_as_therapist(case, fuzz_app, therapist_session):
    """The demo patient's therapist: the care-team view, comments, alerts."""
    send(case, fuzz_app, *therapist_session)


# --- inputs that once answered 500 (found by fuzzing; now regression tests) -------------


@pytest.fixture
def patient_api(fuzz_app):
    """A test client of the module's app with the demo patient's API session."""
    cookies, headers = api_session(fuzz_app, "patient@demo.test")
    client = fuzz_app.test_client()
    client.set_cookie("kap_session", cookies["kap_session"])
    return client, headers


def assert_client_error(response) -> None:
    """A 4xx in the error format: what bad input must get, never a 500."""
    assert 400 <= response.status_code < 500, (response.status_code, response.json)
    assert response.json["error"]["code"]


@pytest.mark.parametrize("where", ["path", "body"])
def test_ids_beyond_the_database_range_are_client_errors(patient_api, where):
    """An id too large for the database is simply not found (or invalid), not a 500."""
    client, headers = patient_api
    huge = 2**63  # SQLite: OverflowError; PostgreSQL already fails from 2**31
    if where == "path":
        response = client.get(f"/api/v1/sessions/{huge}")
    else:
        entry = {"client_id": "big-1", "body": "x", "session_id": huge}
        response = client.post("/api/v1/journal", json=entry, headers=headers)
    assert_client_error(response)


def test_id_just_past_32_bits_is_not_found(patient_api):
    """2**31 is one past PostgreSQL's INTEGER; it must be 404 there as on SQLite."""
    client, _ = patient_api
    assert client.get(f"/api/v1/sessions/{2**31}").status_code == 404


def test_non_ascii_digits_in_paging_are_invalid(patient_api):
    """?limit=² (a superscript two) is invalid input."""
    client, _ = patient_api
    assert_client_error(client.get("/api/v1/sessions?limit=%C2%B2"))


@pytest.mark.parametrize("phase", [["session"], {"phase": "session"}])
def test_phase_that_is_not_a_string_is_invalid(patient_api, phase):
    """A phase that is a list or an object is invalid input."""
    client, headers = patient_api
    session_id = client.get("/api/v1/sessions").json["sessions"][-1]["id"]
    response = client.post(
        f"/api/v1/sessions/{session_id}/phase", json={"phase": phase}, headers=headers
    )
    assert_client_error(response)


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_device_time_without_a_utc_equivalent_is_invalid(patient_api, at):
    """A device time that has no UTC equivalent is invalid input."""
    client, headers = patient_api
    session_id = client.get("/api/v1/sessions").json["sessions"][-1]["id"]
    response = client.post(
        f"/api/v1/sessions/{session_id}/call-staff", json={"at": at}, headers=headers
    )
    assert_client_error(response)


def test_nul_character_in_a_sign_in_email_is_invalid_input(fuzz_app):
    """A NUL in a sign-in email is invalid input (400), on every database."""
    with fuzz_app.app_context():
        limiter.reset()
    response = fuzz_app.test_client().post(
        "/api/v1/session", json={"email": "a\x00@demo.test", "password": "x"}
    )
    assert_client_error(response)
