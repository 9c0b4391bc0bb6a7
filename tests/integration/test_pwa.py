"""The installable app: service worker, manifest, offline pages, sign-out that clears (issue 6)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from kap.pwa.views import PRECACHED_STATIC, SHELLS

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
IMPORT = re.compile(
    r"""(?:\bimport\s*(?:[\w*{}\s,]+from\s*)?|\bimport\()\s*['"](\.{1,2}/[^'"]+)['"]"""
)


def _precache(client) -> list[str]:
    body = client.get("/sw.js").text
    return json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))


def _version(client) -> str:
    return re.search(r'const VERSION = "([0-9a-f]+)";', client.get("/sw.js").text).group(1)


def test_service_worker_is_served_from_the_root_and_always_revalidated(client):
    """/sw.js (scope /) is JavaScript, never served stale from a cache, with a versioned cache."""
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Cache-Control"] == "no-cache"
    assert "const SHELL_CACHE = `kap-shell-${VERSION}`" in response.text
    assert "caches.delete" in response.text  # old versions removed on activate
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_version_is_stable_and_changes_with_what_is_precached(app, client):
    """Same files, same version (no update prompts for nothing); a new revision, a new version."""
    first = _version(client)
    assert _version(client) == first
    app.config["SW_REVISION"] = "2026-11-22"  # KAP_SW_REVISION, read by Config
    assert _version(client) != first


def test_precache_is_an_explicit_list_of_the_shell(client):
    """Static files, the manifest and every offline page; nothing else (no user pages or API)."""
    urls = _precache(client)
    assert urls == [
        *(f"/static/{name}" for name in PRECACHED_STATIC),
        "/manifest.webmanifest",
        "/offline",
        *(f"/offline/{name}" for name in SHELLS),
    ]
    for name in PRECACHED_STATIC:
        assert (STATIC / name).is_file(), name
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert not [u for u in urls if u.startswith(("/api/", "/patient/", "/media/"))]


def test_every_module_an_offline_page_loads_is_precached():
    """An offline session never fails on a missing module: each import is in the precache."""
    precached = set(PRECACHED_STATIC)
    found = 0
    for name in [p for p in PRECACHED_STATIC if p.endswith(".js")]:
        source = (STATIC / name).read_text()
        for target in IMPORT.findall(source):
            resolved = (STATIC / name).parent.joinpath(target).resolve().relative_to(STATIC)
            assert str(resolved) in precached, f"{name} imports {target}, which is not precached"
            found += 1
    assert found > 20  # the pattern does find the imports (static and dynamic)


def test_offline_pages_hold_nobody_and_load_only_precached_scripts(client):
    """Offline pages (fetched without cookies) name nobody, run no inline script, use the shell."""
    precached = set(_precache(client))
    for url in ["/offline", *(f"/offline/{name}" for name in SHELLS)]:
        response = client.get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        html = response.text
        assert "kap-patient" not in html and "csrf-token" not in html and "csrf_token" not in html
        assert 'data-shell="' in html
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert 'src="' in tag or 'type="application/json"' in tag, f"inline script in {url}"
        for src in re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="(/static/[^"]+)"', html):
            assert src in precached, f"{url} needs {src}, which is not precached"
    assert client.get("/offline/nope").status_code == 404


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_manifest_makes_the_app_installable(client):
    """Name, short name, standalone, start URL in scope, colours, 192/512 and maskable icons."""
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/manifest+json")
    manifest = response.json
    assert manifest["name"] == "KAP Companion" and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith(manifest["scope"]) and manifest["scope"] == "/"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    icons = {(i["sizes"], i["purpose"]): i for i in manifest["icons"]}
    for sizes, purpose in [("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")]:
        icon = icons[(sizes, purpose)]
        file = STATIC / icon["src"].removeprefix("/static/")
        width, height = _png_size(file)
        assert f"{width}x{height}" == sizes and icon["type"] == "image/png"


def test_every_page_links_the_manifest_and_the_app_script(client, auth, people):
    """Sign-in and patient pages: the manifest, pwa.js, and the patient the device store is for."""
    signin = client.get("/signin").text
    assert 'rel="manifest" href="/manifest.webmanifest"' in signin
    assert 'src="/static/js/pages/pwa.js"' in signin
    assert "kap-patient" not in signin
    auth.login("patient@demo.test")
    home = client.get("/patient/").text
    assert f'<meta name="kap-patient" content="{people["patient@demo.test"].id}">' in home
    assert 'id="app-status"' in home


def test_clinicians_are_not_named_for_a_device_store(client, auth, people):
    """Only patients keep anything on the device; a therapist's page names nobody."""
    auth.login("therapist@demo.test")
    assert "kap-patient" not in client.get("/therapist/").text


def test_signing_out_tells_the_browser_to_clear_the_site(client, auth, people):
    """Sign-out answers Clear-Site-Data (cache and storage) and the session is over."""
    auth.login("patient@demo.test")
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("path", ["/patient/journal/new", "/patient/crisis-support"])
def test_patient_pages_carry_what_the_offline_scripts_read(client, auth, people, path):
    """The journal form has its saved panel and client_id; Crisis support its contacts as data."""
    auth.login("patient@demo.test")
    html = client.get(path).text
    if path.endswith("/new"):
        assert "data-journal-form" in html and "data-journal-saved" in html
        assert re.search(r'name="client_id" type="hidden" value="[0-9a-f-]{36}"', html)
    else:
        contacts = re.search(
            r'<script type="application/json" id="crisis-data">(.*?)</script>', html
        )
        assert contacts and json.loads(contacts.group(1))


def test_the_outbox_can_always_get_a_fresh_csrf_token(api_as, people):
    """A replay hours later meets an expired token: csrf_failed, and /me hands out a new one."""
    client = api_as("patient@demo.test").client
    stale = client.post(
        "/api/v1/journal",
        json={"client_id": "late-1", "body": "Written last night"},
        headers={"X-CSRFToken": "expired"},
    )
    assert stale.status_code == 400 and stale.json["error"]["code"] == "csrf_failed"
    token = client.get("/api/v1/me").json["csrf_token"]
    sent = client.post(
        "/api/v1/journal",
        json={"client_id": "late-1", "body": "Written last night"},
        headers={"X-CSRFToken": token},
    )
    assert sent.status_code == 201
