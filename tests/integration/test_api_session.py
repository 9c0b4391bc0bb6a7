"""API sign-in, the current user, sign-out and the error format."""

import pytest


def test_api_sign_in_returns_user_and_csrf_token(client, auth, people):
    """POST /api/v1/session answers the user with their clinic and a CSRF token."""
    response = auth.api_login("patient@demo.test")
    assert response.status_code == 200
    body = response.json
    assert body["user"] == {
        "id": people["patient@demo.test"].id,
        "email": "patient@demo.test",
        "name": "Pat Jordan",
        "role": "patient",
        "clinic": {"id": people["patient@demo.test"].clinic_id, "name": "Demo Clinic"},
    }
    assert body["csrf_token"]


def test_api_wrong_password_is_401_in_error_format(auth, people):
    """Bad credentials answer 401 with the documented error shape."""
    response = auth.api_login("patient@demo.test", "nope")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"
    assert response.json["error"]["message"]


def test_api_repeated_wrong_passwords_reach_429(auth, people):
    """After five failures the API answers 429 with Retry-After."""
    statuses = [auth.api_login("patient@demo.test", "nope").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    response = auth.api_login("patient@demo.test", "nope")
    assert response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"json": {"password": "x"}}, "email"),
        ({"json": {"email": "patient@demo.test"}}, "password"),
        ({"json": {"email": 5, "password": "x"}}, "email"),
    ],
)
def test_api_sign_in_missing_fields_is_400_with_fields(client, people, kwargs, field):
    """A missing or mistyped field answers 400 naming the field."""
    response = client.post("/api/v1/session", **kwargs)
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "not json", "content_type": "application/json"},
        {"data": "[1, 2]", "content_type": "application/json"},
        {"data": {"email": "patient@demo.test", "password": "demo-password"}},
    ],
)
def test_api_sign_in_needs_a_json_object(client, people, kwargs):
    """Invalid JSON, a non-object or a form post answers 400 in the error format."""
    response = client.post("/api/v1/session", **kwargs)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"


def test_me_requires_sign_in(client):
    """Signed out, /api/v1/me answers a JSON 401, never an HTML redirect."""
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthenticated"


def test_me_answers_the_user_and_a_fresh_token(client, auth, people):
    """Signed in, /api/v1/me gives the user (and a CSRF token for stale clients)."""
    auth.api_login("therapist@demo.test")
    body = client.get("/api/v1/me").json
    assert body["user"]["email"] == "therapist@demo.test"
    assert body["user"]["role"] == "therapist"
    assert body["csrf_token"]


def test_api_write_without_csrf_header_is_refused(client, auth, people):
    """DELETE /api/v1/session without X-CSRFToken is 400 and leaves the session alive."""
    auth.api_login("patient@demo.test")
    response = client.delete("/api/v1/session")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "csrf_failed"
    assert client.get("/api/v1/me").status_code == 200


def test_api_sign_out_revokes_the_session(app, client, auth, people):
    """DELETE /api/v1/session signs out; a copied cookie stops working."""
    auth.api_login("patient@demo.test")
    stolen = client.get_cookie("kap_session").value
    assert client.delete("/api/v1/session", headers=auth.headers).status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    replay = app.test_client()
    replay.set_cookie("kap_session", stolen)
    assert replay.get("/api/v1/me").status_code == 401


def test_api_sign_out_clears_site_data_like_the_sign_out_page(client, auth, people):
    """DELETE /api/v1/session answers the same Clear-Site-Data as the HTML sign-out."""
    auth.login("patient@demo.test")
    page_header = auth.logout().headers.get("Clear-Site-Data")
    assert page_header == '"cache", "storage"'
    auth.api_login("patient@demo.test")
    response = client.delete("/api/v1/session", headers=auth.headers)
    assert response.status_code == 200
    assert response.headers.get("Clear-Site-Data") == page_header


def test_unknown_api_path_is_json_404(client):
    """Unknown API paths answer the JSON error format, not an HTML page."""
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_api_wrong_method_is_json_405(client):
    """A wrong method on an API path answers JSON 405."""
    response = client.put("/api/v1/me")
    assert response.status_code in (400, 405)  # CSRF runs first for writes
    assert "error" in response.json


def test_oversized_api_body_is_413(client, people):
    """A body over the API limit is refused with 413 before being read."""
    response = client.post(
        "/api/v1/session", data="x" * (300 * 1024), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
