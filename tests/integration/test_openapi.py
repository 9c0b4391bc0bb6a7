"""The OpenAPI description: valid 3.1, complete against app.url_map, and true to real answers."""

from __future__ import annotations

import re
import uuid

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kap.api.openapi import build_spec
from tests.helpers import ApiClient, Auth

METHODS = {"get", "put", "post", "patch", "delete"}
SPEC_URI = "urn:kap:openapi"
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def api_routes(app) -> dict[tuple[str, str], object]:
    """(METHOD, OpenAPI path) -> werkzeug rule, for every rule under /api/."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = CONVERTER.sub(r"{\2}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes[(method, path)] = rule
    return routes


def described_operations(spec) -> dict[tuple[str, str], dict]:
    """(METHOD, path) -> operation object, for every operation in the description."""
    return {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


@pytest.fixture
def spec(client):
    """The description as served, to anyone."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def test_description_is_public_and_valid_openapi_3_1(spec):
    """GET /api/v1/openapi.json needs no sign-in and passes openapi-spec-validator (3.1)."""
    assert spec["openapi"].startswith("3.1.")
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_served_description_is_the_built_one(spec):
    """What is served is build_spec(), which the fuzzing tests load directly."""
    assert spec == build_spec()


def test_every_api_route_is_described_and_nothing_else(app, spec):
    """A route under /api/ without a description fails here, and so does a stale one."""
    in_app = set(api_routes(app))
    described = set(described_operations(spec))
    missing = sorted(in_app - described)
    stale = sorted(described - in_app)
    assert not missing, f"routes missing from kap/api (operation): {missing}"
    assert not stale, f"described but not in the app: {stale}"


def test_operation_ids_roles_and_path_parameters_match_the_views(app, spec):
    """operationId names the view; x-kap-roles are its allowed roles; path params its args."""
    routes = api_routes(app)
    for key, operation in described_operations(spec).items():
        rule = routes[key]
        assert f"api.{operation['operationId']}" == rule.endpoint, key
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "allowed_roles", None)
        if roles is None:
            assert operation.get("security") == [], f"{key} is public in the app"
        else:
            assert "security" not in operation, f"{key} needs sign-in in the app"
            assert sorted(operation["x-kap-roles"]) == sorted(str(r) for r in roles), key
            assert "401" in operation["responses"], key
        path_params = {
            p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "path"
        }
        assert set(path_params) == set(rule.arguments), key
        for name, converter in rule._converters.items():
            if type(converter).__name__ == "IntegerConverter":
                assert path_params[name]["schema"]["type"] == "integer", (key, name)


def test_writes_take_the_csrf_header_and_json_bodies_answer_413(spec):
    """Every signed-in write declares X-CSRFToken; every JSON body documents 400 and 413."""
    csrf = {"$ref": "#/components/parameters/CSRFToken"}
    for (method, path), operation in described_operations(spec).items():
        signed_in = operation.get("security") != []
        if method != "GET" and signed_in:
            assert csrf in operation.get("parameters", []), (method, path)
        if "requestBody" in operation:
            assert {"400", "413"} <= set(operation["responses"]), (method, path)


# --- real answers against the described schemas -------------------------------------------


class Contract:
    """Checks real responses against the description's schema for their status."""

    def __init__(self, spec):
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(SPEC_URI, resource)

    def _pointer(self, *parts: str) -> str:
        escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
        return "#/" + "/".join(escaped)

    def check(self, method: str, path: str, response) -> dict:
        """Assert ``response`` has a documented status and matches its JSON schema."""
        operation = self.spec["paths"][path][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {path}: undocumented {status}"
        answer = operation["responses"][status]
        pointer_parts = ("paths", path, method.lower(), "responses", status)
        if "content" not in answer and "$ref" not in answer:  # an answer without a body (204)
            assert response.data == b"", f"{method} {path} {status} has a body"
            return None
        if "$ref" in answer:
            pointer_parts = tuple(answer["$ref"].removeprefix("#/").split("/"))
            answer = self.spec["components"]["responses"][pointer_parts[-1]]
        (media_type,) = answer["content"]  # application/json, or e.g. application/fhir+json
        assert response.mimetype == media_type
        schema_ref = SPEC_URI + self._pointer(*pointer_parts, "content", media_type, "schema")
        validator = Draft202012Validator(
            {"$ref": schema_ref},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(response.json)
        ]
        assert not errors, f"{method} {path} {status} does not match: {errors[:5]}"
        return response.json

    def call(
        self, auth: ApiClient | Auth, method: str, path: str, *, json=None, query="", **params
    ):
        """Send ``method path`` (ids from ``params``) as ``auth``, check and return the answer."""
        response = auth.client.open(
            path.format(**params) + query, method=method, json=json, headers=auth.headers
        )
        self.check(method, path, response)
        return response


@pytest.fixture
def contract(spec):
    return Contract(spec)


def test_sign_in_me_and_sign_out_match_the_description(app, people, contract):
    """POST/DELETE /session and GET /me, with their error answers."""
    auth = Auth(app.test_client())
    contract.call(auth, "POST", "/api/v1/session", json={})
    wrong = {"email": "patient@demo.test", "password": "x"}
    assert contract.call(auth, "POST", "/api/v1/session", json=wrong).status_code == 401
    assert contract.call(auth, "GET", "/api/v1/me").status_code == 401
    contract.check("POST", "/api/v1/session", auth.api_login("therapist@demo.test"))
    assert contract.call(auth, "GET", "/api/v1/me").status_code == 200
    no_csrf = auth.client.delete("/api/v1/session")
    assert contract.check("DELETE", "/api/v1/session", no_csrf)["error"]["code"] == "csrf_failed"
    assert contract.call(auth, "DELETE", "/api/v1/session").status_code == 200


def test_sessions_list_and_detail_match_the_description(api_as, people, contract):
    """Sessions as a patient and a therapist, plus the patient's actions on one."""
    patient = api_as("patient@demo.test")
    listed = contract.call(patient, "GET", "/api/v1/sessions").json["sessions"]
    detail = "/api/v1/sessions/{session_id}"
    for summary in listed:
        contract.call(patient, "GET", detail, session_id=summary["id"])
    upcoming = listed[-1]["id"]
    body = contract.call(patient, "GET", detail, session_id=upcoming).json
    assert body["session"] == {k: v for k, v in body.items() if k != "session"}
    ids = {"session_id": upcoming, "item_id": body["checklist"][0]["id"]}
    contract.call(patient, "PUT", f"{detail}/checklist/{{item_id}}", json={"checked": True}, **ids)
    contract.call(patient, "PUT", f"{detail}/intention", json={"text": "Be kind"}, **ids)
    for phase in ("downtime", "session", "x"):  # out of order, unticked items, unknown
        contract.call(patient, "POST", f"{detail}/phase", json={"phase": phase}, **ids)
    for _ in range(2):  # created, then the same client_id again
        contract.call(patient, "POST", f"{detail}/call-staff", json={"client_id": "c1"}, **ids)
    assert contract.call(patient, "GET", f"{detail}/calls", **ids).json["calls"]
    assert contract.call(patient, "GET", detail, **ids).json["calls"]
    missing = contract.call(patient, "GET", f"{detail}/calls", session_id=999999)
    assert missing.status_code == 404
    therapist = api_as("therapist@demo.test")
    for query in ("?limit=1", "?limit=0", "?status=complete"):
        contract.call(therapist, "GET", "/api/v1/sessions", query=query)
    contract.call(therapist, "GET", detail, session_id=upcoming)
    assert contract.call(therapist, "GET", detail, session_id=999999).status_code == 404
    assert contract.call(therapist, "PUT", f"{detail}/intention", **ids).status_code == 403


def test_journal_routes_match_the_description(api_as, people, contract):
    """List, create (201, then 200 for the same client_id), edit, comment, share, delete."""
    patient = api_as("patient@demo.test")
    contract.call(patient, "GET", "/api/v1/journal")
    entry = {"client_id": str(uuid.uuid4()), "body": "Calm today 🌊", "mood": 7, "shared": True}
    created = contract.call(patient, "POST", "/api/v1/journal", json=entry)
    assert created.status_code == 201
    assert contract.call(patient, "POST", "/api/v1/journal", json=entry).status_code == 200
    contract.call(patient, "POST", "/api/v1/journal", json={})
    one = {"entry_id": created.json["id"]}
    contract.call(patient, "PATCH", "/api/v1/journal/{entry_id}", json={"mood": None}, **one)
    therapist = api_as("therapist@demo.test")
    comments = "/api/v1/journal/{entry_id}/comments"
    assert (
        contract.call(therapist, "POST", comments, json={"body": "Thanks"}, **one).status_code
        == 201
    )
    patient_id = people["patient@demo.test"].id
    contract.call(therapist, "GET", "/api/v1/patients/{patient_id}/journal", patient_id=patient_id)
    contract.call(patient, "GET", "/api/v1/journal")
    assert contract.call(therapist, "GET", "/api/v1/journal").status_code == 403
    for status in (200, 404):
        response = contract.call(patient, "DELETE", "/api/v1/journal/{entry_id}", **one)
        assert response.status_code == status
    assert contract.call(patient, "POST", "/api/v1/journal", json=entry).status_code == 409


def test_patients_alerts_and_measures_match_the_description(api_as, people, contract):
    """Check-ins (with a PHQ-9 item-9 alert), patients and alerts for the care team."""
    patient = api_as("patient@demo.test")
    phq9 = {"instrument": "phq9", "answers": [1, 0, 2, 1, 0, 0, 1, 0, 1], "client_id": "m-1"}
    recorded = contract.call(patient, "POST", "/api/v1/measures", json=phq9)
    assert recorded.status_code == 201
    assert recorded.json["item9_positive"] is True
    contract.call(
        patient, "POST", "/api/v1/measures", json={"instrument": "gad7", "answers": [0] * 7}
    )
    contract.call(patient, "POST", "/api/v1/measures", json={"instrument": "gad7", "answers": [4]})
    for query in ("", "?instrument=phq9", "?instrument=x"):
        contract.call(patient, "GET", "/api/v1/measures", query=query)
    assert contract.call(patient, "GET", "/api/v1/patients").status_code == 403
    mine, other = people["patient@demo.test"].id, people["patient@other.test"].id
    for email in ("therapist@demo.test", "admin@demo.test"):
        clinician = api_as(email)
        assert contract.call(clinician, "GET", "/api/v1/patients").json["patients"]
        contract.call(clinician, "GET", "/api/v1/patients/{patient_id}", patient_id=mine)
        response = contract.call(
            clinician, "GET", "/api/v1/patients/{patient_id}", patient_id=other
        )
        assert response.status_code == 404
        alerts = contract.call(clinician, "GET", "/api/v1/alerts").json["alerts"]
        assert "phq9_item9" in {alert["kind"] for alert in alerts}
        history = "/api/v1/patients/{patient_id}/measures"
        assert contract.call(clinician, "GET", history, patient_id=mine).json["measures"]


def test_fhir_exports_match_the_description(spec, api_as, people, contract):
    """The FHIR routes answer application/fhir+json as described; errors stay in our format."""
    mine = people["patient@demo.test"].id
    path = "/api/v1/patients/{patient_id}/fhir"
    assert set(spec["paths"][path]["get"]["responses"]["200"]["content"]) == {
        "application/fhir+json"
    }
    patient = api_as("patient@demo.test")
    assert contract.call(patient, "GET", "/api/v1/me/fhir").json["type"] == "collection"
    assert contract.call(patient, "GET", path, patient_id=mine).status_code == 403
    therapist = api_as("therapist@demo.test")
    assert contract.call(therapist, "GET", path, patient_id=mine).status_code == 200
    assert contract.call(therapist, "GET", path, patient_id=999999).status_code == 404


def test_audit_matches_the_description(api_as, people, contract):
    """The clinic admin's audit events, and a therapist's 403."""
    admin = api_as("admin@demo.test")
    patient_id = people["patient@demo.test"].id
    admin.get(f"/api/v1/patients/{patient_id}/measures")  # an audited read
    assert contract.call(admin, "GET", "/api/v1/audit", query="?limit=2").json["events"]
    assert contract.call(admin, "GET", "/api/v1/audit", query="?limit=0").status_code == 400
    therapist = api_as("therapist@demo.test")
    assert contract.call(therapist, "GET", "/api/v1/audit").status_code == 403


def test_oversized_body_answer_matches_the_description(api_as, people, contract):
    """413 is in the error format the description gives."""
    patient = api_as("patient@demo.test")
    big = patient.post(
        "/api/v1/journal", data=b"{" + b" " * (300 * 1024) + b"}", content_type="application/json"
    )
    assert big.status_code == 413
    contract.check("POST", "/api/v1/journal", big)


def test_session_day_conflicts_and_start_window_are_described(spec, api_as, people, contract):
    """The phase and checklist 409s name not_today, check_in_required and too_early, and a
    real not_today / too_early answer matches them; the detail describes start_window."""
    phase = spec["paths"]["/api/v1/sessions/{session_id}/phase"]["post"]["responses"]["409"]
    checklist = spec["paths"]["/api/v1/sessions/{session_id}/checklist/{item_id}"]["put"]
    codes = lambda answer: answer["content"]["application/json"]["schema"]["allOf"][1][  # noqa: E731
        "properties"
    ]["error"]["properties"]["code"]["enum"]
    assert {"not_today", "check_in_required"} <= set(codes(phase))
    assert "too_early" in codes(checklist["responses"]["409"])
    detail = spec["components"]["schemas"]["SessionDetail"]["properties"]
    assert set(detail["start_window"]["required"]) == {"opens_at", "closes_at"}
    assert {"requires_check_in", "checked_in_at"} <= set(detail)

    patient = api_as("patient@demo.test")
    listed = contract.call(patient, "GET", "/api/v1/sessions").json["sessions"]
    path = "/api/v1/sessions/{session_id}"
    body = contract.call(patient, "GET", path, session_id=listed[-1]["id"]).json
    ids = {"session_id": body["id"]}
    started = contract.call(patient, "POST", f"{path}/phase", json={"phase": "session"}, **ids)
    assert started.json["error"]["code"] == "not_today"
    day_of = next(item for item in body["checklist"] if item["day_of"])
    ticked = contract.call(
        patient, "PUT", f"{path}/checklist/{{item_id}}", json={"checked": True},
        item_id=day_of["id"], **ids,
    )  # fmt: skip
    assert ticked.json["error"]["code"] == "too_early"


def test_reminders_match_the_description(api_as, people, contract):
    """GET/PUT /me/reminders as described, with the 400 and 403 answers."""
    path = "/api/v1/me/reminders"
    patient = api_as("patient@demo.test")
    assert contract.call(patient, "GET", path).json["channels"]["calendar"] is False
    choices = {
        "channels": {"push": True, "email": True},
        "quiet_hours": {"start": "22:00", "end": "07:00"},
    }
    saved = contract.call(patient, "PUT", path, json=choices).json
    assert saved["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert {item["channel"] for item in saved["upcoming"]} == {"push", "email"}
    bad = contract.call(patient, "PUT", path, json={"quiet_hours": {"start": "25:00"}})
    assert bad.status_code == 400
    therapist = api_as("therapist@demo.test")
    assert contract.call(therapist, "GET", path).status_code == 403


def test_push_subscription_routes_match_the_description(api_as, people, contract):
    """Save (201, then 200 for the same endpoint), invalid (400), delete (200, then 404)."""
    from tests.pushreceiver import PushReceiver

    patient = api_as("patient@demo.test")
    path = "/api/v1/me/push-subscriptions"
    subscription = {
        **PushReceiver().subscribe(),
        "endpoint": "https://fcm.googleapis.com/fcm/send/contract",
    }
    created = contract.call(patient, "POST", path, json=subscription)
    assert created.status_code == 201
    assert contract.call(patient, "POST", path, json=subscription).status_code == 200
    assert contract.call(patient, "POST", path, json={"keys": {}}).status_code == 400
    one = {"subscription_id": created.json["subscription"]["id"]}
    for status in (200, 404):
        response = contract.call(patient, "DELETE", f"{path}/{{subscription_id}}", **one)
        assert response.status_code == status


def test_calendar_link_and_ride_match_the_description(api_as, people, session_id, contract):
    """GET/DELETE /me/calendar (a 204 without a body) and PUT /sessions/{id}/ride."""
    patient = api_as("patient@demo.test")
    url = contract.call(patient, "GET", "/api/v1/me/calendar").json["url"]
    assert url.endswith(".ics")
    assert contract.call(patient, "DELETE", "/api/v1/me/calendar").status_code == 204
    therapist = api_as("therapist@demo.test")
    assert contract.call(therapist, "GET", "/api/v1/me/calendar").status_code == 403
    ride = "/api/v1/sessions/{session_id}/ride"
    ids = {"session_id": session_id}
    answer = contract.call(patient, "PUT", ride, json={"driver": "Sam"}, **ids)
    assert answer.json["ride_home"] == "Sam"
    assert contract.call(patient, "PUT", ride, json={"driver": ""}, **ids).status_code == 400
    assert contract.call(patient, "PUT", ride, json={}, **ids).status_code == 400
    assert (
        contract.call(patient, "PUT", ride, json={"driver": "S"}, session_id=999999).status_code
        == 404
    )
