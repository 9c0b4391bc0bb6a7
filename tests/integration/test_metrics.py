"""Prometheus metrics (issue 18, item 5): what is counted, under which labels, and who may read
them. The counters of one test process are shared by every app it builds, so each test reads
the exposition before and after what it does and asserts on the difference."""

from __future__ import annotations

import re
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kap.extensions import db
from kap.models import Alert, AlertKind, SessionStatus, TreatmentSession
from kap.models.base import utcnow

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def scrape(app):
    """``scrape()``: the exposition text, read with the configured token."""
    app.config["METRICS_TOKEN"] = TOKEN
    client = app.test_client()

    def read() -> str:
        response = client.get("/metrics", headers=BEARER)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return read


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` in the exposition ``text`` (0 if absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def requests_counted(text: str, endpoint: str, status: str) -> float:
    return value(text, "kap_http_request_duration_seconds_count", endpoint=endpoint, status=status)


def exposition_words(text: str) -> str:
    """Every name, help text and label of the exposition ``text``, one per line: what could
    carry personal data. Sample values are left out: they are numbers, and a float such as a
    ``_created`` timestamp may hold any run of digits (a secret id among them, by chance)."""
    words = []
    for family in text_string_to_metric_families(text):
        words += [family.name, family.documentation]
        for sample in family.samples:
            words.append(sample.name)
            for label, label_value in sample.labels.items():
                words += [label, label_value]
    return "\n".join(words)


def assert_no_personal_data(text: str, *secrets: str) -> None:
    """No name, help text or label in the exposition is an email, a URL path or one of
    ``secrets``."""
    words = exposition_words(text)
    assert "kap_http_request_duration_seconds" in words  # the parse found the metrics
    assert "@" not in words
    assert "demo.test" not in words
    assert not re.search(r"/(api|patient|journal|no-such|invite|calendar)", words)
    for secret in secrets:
        assert secret not in words


def test_the_personal_data_check_reads_labels_never_sample_values():
    """The check fails on a secret in a label, never on the same digits inside a number."""
    name = "kap_http_request_duration_seconds"
    help_line = f"# HELP {name} x\n# TYPE {name} gauge\n"
    assert_no_personal_data(help_line + f'{name}{{a="b"}} 1.7987654e+09\n', "987654")
    for label in ("/api/v1/sessions/987654", "patient@demo.test"):
        with pytest.raises(AssertionError):
            assert_no_personal_data(help_line + f'{name}{{a="{label}"}} 1.0\n', "987654")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789abc"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
    ],
    ids=["none", "wrong", "no-scheme", "longer", "basic"],
)
def test_metrics_is_404_without_the_right_token(app, client, headers):
    """/metrics answers 404 (as if absent) to anyone without the exact bearer token."""
    app.config["METRICS_TOKEN"] = TOKEN
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert b"kap_http" not in response.data


def test_metrics_is_404_when_no_token_is_configured(app, client):
    """Without KAP_METRICS_TOKEN there is no /metrics at all, whatever a client sends."""
    assert app.config["METRICS_TOKEN"] is None
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers=BEARER).status_code == 404


def test_metrics_with_the_token_are_prometheus_text(app, client):
    """With the token: 200, Prometheus' text format, never cached."""
    app.config["METRICS_TOKEN"] = TOKEN
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "# TYPE kap_http_request_duration_seconds histogram" in response.get_data(as_text=True)


def test_requests_are_counted_by_endpoint_and_status_never_by_url(app, api_as, people, scrape):
    """Each request is one sample under its Flask endpoint and status; URLs with ids or an
    email never become a label."""
    api = api_as("patient@demo.test")
    before = scrape()
    for _ in range(2):
        assert api.get("/api/v1/journal").status_code == 200
    assert api.get("/api/v1/sessions/987654").status_code == 404
    assert api.get("/no-such/patient@demo.test/7").status_code == 404
    after = scrape()

    def counted(endpoint: str, status: str) -> float:
        return requests_counted(after, endpoint, status) - requests_counted(
            before, endpoint, status
        )

    assert counted("api.list_journal", "200") == 2
    assert counted("api.get_session", "404") == 1
    assert counted("unmatched", "404") == 1
    # The histogram has the same count in its +Inf bucket and a positive sum.
    assert value(
        after, "kap_http_request_duration_seconds_bucket", endpoint="api.list_journal",
        status="200", le="+Inf",
    ) == requests_counted(after, "api.list_journal", "200")  # fmt: skip
    assert (
        value(
            after,
            "kap_http_request_duration_seconds_sum",
            endpoint="api.list_journal",
            status="200",
        )
        > 0
    )
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} | {"unmatched"}
    for family in text_string_to_metric_families(after):
        for sample in family.samples:
            if "endpoint" in sample.labels:
                assert sample.labels["endpoint"] in endpoints
    assert_no_personal_data(after, "987654")


@pytest.fixture
def in_session(app, people, session_id) -> int:
    """The demo patient's Walkthrough session, in session mode."""
    with app.app_context():
        session = db.session.get(TreatmentSession, session_id)
        session.status = SessionStatus.SESSION
        session.session_started_at = utcnow()
        db.session.commit()
    return session_id


def test_outbox_replays_are_counted_by_kind(api_as, in_session, scrape):
    """A write sent again with a client_id the server has (or the phase it is in) counts one
    replay of its kind; the first write counts none."""
    api = api_as("patient@demo.test")
    marker = f"replayed text {uuid.uuid4().hex}"
    writes = {
        "journal_entry": ("/api/v1/journal", {"client_id": "outbox-1", "body": marker}),
        "measure": (
            "/api/v1/measures",
            {"instrument": "gad7", "answers": [1] * 7, "client_id": "outbox-2"},
        ),
        "call_staff": (f"/api/v1/sessions/{in_session}/call-staff", {"client_id": "outbox-3"}),
        "phase": (f"/api/v1/sessions/{in_session}/phase", {"phase": "session"}),
    }
    before = scrape()
    for url, body in writes.values():
        first = api.post(url, json=body)
        assert first.status_code in (200, 201), (url, first.json)
    middle = scrape()
    for url, body in writes.values():
        assert api.post(url, json=body).status_code == 200
    after = scrape()
    for kind in writes:
        replays = value(after, "kap_outbox_replays_total", kind=kind)
        assert replays - value(middle, "kap_outbox_replays_total", kind=kind) == 1, kind
    # The phase was already "session", so its first send was a replay too; nothing else was.
    for kind in ("journal_entry", "measure", "call_staff"):
        assert value(middle, "kap_outbox_replays_total", kind=kind) == value(
            before, "kap_outbox_replays_total", kind=kind
        )
    assert_no_personal_data(after, marker, "outbox-1")


def test_sign_in_refusals_are_counted_by_step_and_reason(app, people, client, scrape):
    """Wrong passwords count as failures and attempts past the limit as limited; the email
    that was tried is nowhere in the metrics."""
    app.config["SIGNIN_ACCOUNT_FAILURE_LIMIT"] = "2 per 15 minutes"
    before = scrape()
    statuses = [
        client.post(
            "/api/v1/session", json={"email": "patient@demo.test", "password": "wrong-guess"}
        ).status_code
        for _ in range(3)
    ]
    after = scrape()
    assert statuses == [401, 401, 429]

    def counted(reason: str) -> float:
        return value(after, "kap_signin_refusals_total", step="password", reason=reason) - value(
            before, "kap_signin_refusals_total", step="password", reason=reason
        )

    assert counted("failure") == 2
    assert counted("limited") == 1
    assert_no_personal_data(after, "wrong-guess")


def test_open_call_staff_alerts_are_read_per_clinic_at_scrape(app, api_as, in_session, scrape):
    """The open Call staff alerts are a gauge per clinic id, read from the database when
    scraped: a resolved one no longer counts, other kinds never do."""
    clinic_id = str(api_as("patient@demo.test").get("/api/v1/me").json["user"]["clinic"]["id"])
    before = value(scrape(), "kap_open_call_staff_alerts", clinic_id=clinic_id)
    api = api_as("patient@demo.test")
    first = api.post(f"/api/v1/sessions/{in_session}/call-staff", json={"client_id": "gauge-1"})
    second = api.post(f"/api/v1/sessions/{in_session}/call-staff", json={"client_id": "gauge-2"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert value(scrape(), "kap_open_call_staff_alerts", clinic_id=clinic_id) == before + 2
    with app.app_context():
        db.session.get(Alert, first.json["alert"]["id"]).resolved_at = utcnow()
        other = db.session.get(Alert, first.json["alert"]["id"])
        db.session.add(
            Alert(
                clinic_id=other.clinic_id,
                patient_id=other.patient_id,
                kind=AlertKind.PHQ9_ITEM9,
            )
        )
        db.session.commit()
    text = scrape()
    assert value(text, "kap_open_call_staff_alerts", clinic_id=clinic_id) == before + 1
    labels = {
        tuple(sample.labels)
        for family in text_string_to_metric_families(text)
        if family.name == "kap_open_call_staff_alerts"
        for sample in family.samples
    }
    assert labels == {("clinic_id",)}
