"""The service worker, the web app manifest and the offline pages it precaches.

The offline pages (the app shell) carry no user data: the service worker fetches them without
cookies, keeps them in a versioned cache, and serves them when the network fails. Scripts then
fill them in on the phone from the signed-in patient's own device store (static/js/lib/device.js).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import abort, current_app, make_response, render_template, url_for

from kap.pwa import bp

#: Everything the offline features need, fetched once per service-worker version (STYLE habit
#: 8: an explicit list, never "whatever was seen"). tests/integration/test_pwa.py checks that
#: every module these scripts import is listed too, so an offline session never misses one.
PRECACHED_STATIC = (
    "css/app.css",
    "css/session-mode.css",
    "icons/icon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
    "icons/icon-maskable-512.png",
    # Pages that run offline (the offline shells load the same scripts), then what they import.
    "js/pages/integration.js",
    "js/pages/journal-form.js",
    "js/pages/journal-list.js",
    "js/pages/offline-pages.js",
    "js/pages/prepare.js",
    "js/pages/pwa.js",
    "js/pages/session-mode.js",
    "js/lib/api.js",
    "js/lib/dates.js",
    "js/lib/device-store.js",
    "js/lib/device.js",
    "js/lib/drafts.js",
    "js/lib/offline.js",
    "js/lib/outbox-core.js",
    "js/lib/outbox.js",
    "js/lib/push-device.js",
    "js/lib/sign-out.js",
    "js/lib/start-card.js",
    "js/lib/start-window.js",
    "js/lib/session/clock.js",
    "js/lib/session/cues.js",
    "js/lib/session/player.js",
    "js/lib/session/prompts.js",
    "js/lib/session/soundscape.js",
    "js/lib/session/staff-call.js",
    "js/lib/session/timeline.js",
    "js/lib/session/unlock.js",
    "js/lib/session/wakelock.js",
    "js/lib/session/wav.js",
)

#: Offline pages by name: what the service worker shows for a patient page without a network.
SHELLS = {
    "home": "pwa/home.html",
    "prepare": "pwa/prepare.html",
    "session": "pwa/session.html",
    "integration": "pwa/integration.html",
    "journal": "pwa/journal.html",
    "journal-new": "pwa/journal_new.html",
    "crisis": "pwa/crisis.html",
}

THEME_COLOR = "#1f2a44"
BACKGROUND_COLOR = "#1f2a44"

_version_cache: dict[tuple, str] = {}


def _revision() -> str:
    """KAP_SW_REVISION: a new value makes every phone fetch the app shell anew (same files)."""
    return str(current_app.config.get("SW_REVISION") or "")


def _static_digest() -> str:
    """The digest of every static file (kap/web/static_files.py): digest-named URLs, the precache
    among them, change with it, so the worker's version must too."""
    found = current_app.extensions.get("kap_static_digest")
    return found.value() if found else ""


def _watched_files() -> list[Path]:
    static = Path(current_app.static_folder or "")
    templates = Path(current_app.root_path).parent / "templates"
    return [static / name for name in PRECACHED_STATIC] + sorted(templates.rglob("*.*"))


def _render_offline_pages() -> list[str]:
    """Every precached page as a phone without cookies receives it."""
    pages = [("/offline", "pwa/offline.html", {})]
    pages += [(f"/offline/{name}", template, {"shell": name}) for name, template in SHELLS.items()]
    rendered = []
    for path, template, context in pages:
        with current_app.test_request_context(path):  # a fresh request: nobody signed in
            rendered.append(render_template(template, **context))
    return rendered


def shell_version() -> str:
    """A short hash of what is precached, every static file and the revision: any change, a
    new worker (and a new cache, so old digest-named files are deleted with the old one)."""
    files = _watched_files()
    static_digest = _static_digest()
    stats = ((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    key = (_revision(), static_digest, *stats)
    if key not in _version_cache:
        digest = hashlib.sha256(f"{_revision()}\0{static_digest}\0".encode())
        static = Path(current_app.static_folder or "")
        for name in PRECACHED_STATIC:
            digest.update(name.encode() + b"\0" + (static / name).read_bytes() + b"\0")
        for page in _render_offline_pages():
            digest.update(page.encode() + b"\0")
        digest.update(
            render_template(
                "pwa/sw.js", version="", precache=[], offline_url="", shells={}
            ).encode()
        )
        _version_cache.clear()
        _version_cache[key] = digest.hexdigest()[:12]
    return _version_cache[key]


def precache_urls() -> list[str]:
    """The app shell: static files, the manifest and every offline page."""
    return [
        *(url_for("static", filename=name) for name in PRECACHED_STATIC),
        url_for("pwa.manifest"),
        url_for("pwa.offline"),
        *(url_for("pwa.shell", page=name) for name in SHELLS),
    ]


@bp.route("/sw.js")
def service_worker():
    """The service worker, at the root so its scope is the whole app."""
    body = render_template(
        "pwa/sw.js",
        version=shell_version(),
        precache=precache_urls(),
        offline_url=url_for("pwa.offline"),
        shells={name: url_for("pwa.shell", page=name) for name in SHELLS},
    )
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    # Always revalidated, so a new version is found on the next check (browsers cap it anyway).
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, icons and colours that make the app installable."""
    icon = lambda name, size, purpose="any", kind="image/png": {  # noqa: E731
        "src": url_for("static", filename=f"icons/{name}"),
        "sizes": size,
        "type": kind,
        "purpose": purpose,
    }
    data = {
        "id": "/",
        "name": "KAP Companion",
        "short_name": "KAP",
        "description": "Preparation, session mode and integration for ketamine-assisted therapy.",
        "lang": "en",
        "start_url": url_for("auth.index"),
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            icon("icon-192.png", "192x192"),
            icon("icon-512.png", "512x512"),
            icon("icon-maskable-512.png", "512x512", "maskable"),
            icon("icon.svg", "any", kind="image/svg+xml"),
        ],
    }
    response = current_app.response_class(
        json.dumps(data, indent=2), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
def offline():
    """Shown by the service worker when a page cannot be reached and has no offline version."""
    return render_template("pwa/offline.html")


@bp.route("/offline/<page>")
def shell(page: str):
    """An offline page of the patient app, filled in on the phone from its device store."""
    if page not in SHELLS:
        abort(404)
    return render_template(SHELLS[page], shell=page)
