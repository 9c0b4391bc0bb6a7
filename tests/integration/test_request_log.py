"""Request ids and the JSON request log (issue 18, item 5): every response echoes an id, a
trusted proxy's sane id is kept and anything else replaced, and each request writes one JSON
line with that id, its endpoint (never its URL), status and duration."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from kap import create_app
from kap.config import TestConfig
from kap.web.logs import JsonFormatter

GENERATED = re.compile(r"[0-9a-f]{16}")
JUNK_IDS = ["x" * 65, "two words", "../../etc/passwd", "<script>", "id;drop", "ünïcode"]


@pytest.fixture
def request_lines(app):
    """The JSON lines the request logger writes while the test runs."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    request_log = logging.getLogger("kap.request")
    old_level = request_log.level
    request_log.addHandler(handler)
    request_log.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in lines.getvalue().splitlines()]
    request_log.removeHandler(handler)
    request_log.setLevel(old_level)


@pytest.fixture
def behind_proxy():
    """An app that trusts one proxy in front of it (KAP_TRUSTED_PROXIES=1)."""
    config = TestConfig()
    config.TRUSTED_PROXIES = 1
    return create_app(config).test_client()


def test_every_response_echoes_a_new_request_id(client):
    """Without a proxy's id each response carries a fresh one."""
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/no-such-page").headers["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


def test_a_request_id_from_an_untrusted_client_is_replaced(client):
    """With KAP_TRUSTED_PROXIES=0 any X-Request-ID is the client's own: never believed."""
    response = client.get("/healthz", headers={"X-Request-ID": "client-chose-this"})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


def test_a_trusted_proxys_sane_request_id_is_kept(behind_proxy):
    """Behind a trusted proxy its id (≤ 64 of [A-Za-z0-9._-]) is the request's id."""
    sane = "nginx-3f2a.9_" + "a" * 51  # 64 characters
    response = behind_proxy.get("/healthz", headers={"X-Request-ID": sane})
    assert response.headers["X-Request-ID"] == sane


@pytest.mark.parametrize("junk", JUNK_IDS)
def test_a_forged_request_id_with_junk_is_replaced(behind_proxy, junk):
    """Even from a trusted proxy, an id that is too long or has other characters is replaced
    by a generated one."""
    response = behind_proxy.get("/healthz", headers={"X-Request-ID": junk})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


def test_each_request_writes_one_json_line_with_its_id(api_as, people, request_lines):
    """One line per request: the echoed id, method, endpoint, status, duration and the user's
    id when the request loaded the user; never the path, the email or a cookie."""
    api = api_as("patient@demo.test")
    before = len(request_lines())
    response = api.get("/api/v1/sessions/424242")
    missing = api.client.get("/calendar/secret-feed-token.ics")
    lines = request_lines()[before:]
    assert len(lines) == 2
    line = lines[0]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["method"] == "GET"
    assert line["endpoint"] == "api.get_session"
    assert line["status"] == 404
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == people["patient@demo.test"].id
    assert line["level"] == "INFO" and line["logger"] == "kap.request"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["timestamp"])
    assert lines[1]["request_id"] == missing.headers["X-Request-ID"]
    assert lines[1]["endpoint"] == "main.calendar_feed"
    text = json.dumps(lines)
    for private in ("424242", "secret-feed-token", "/api", "/calendar", "demo.test"):
        assert private not in text
    assert api.client.get_cookie("kap_session").value not in text


def test_an_anonymous_request_logs_no_user(client, request_lines):
    """A request that loads no user logs no user id (and costs no query to find one)."""
    client.get("/healthz")
    (line,) = request_lines()[-1:]
    assert line["endpoint"] == "main.healthz"
    assert line["user_id"] is None


def test_other_log_lines_of_a_request_carry_its_id(app, client):
    """A line logged while a request runs (here the calendar feed's) has the request's id."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    old_level = app.logger.level
    app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)
    try:
        response = client.get("/calendar/not-a-real-secret.ics")
    finally:
        app.logger.removeHandler(handler)
        app.logger.setLevel(old_level)
    lines_by_logger = {
        line["logger"]: line for line in map(json.loads, lines.getvalue().splitlines())
    }
    line = lines_by_logger["kap"]
    assert line["message"] == "calendar feed: unknown or revoked secret"
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert "endpoint" not in line  # the request's fields are on its own line only
    assert "not-a-real-secret" not in lines.getvalue()
