"""Performance rules that tests can check exactly: query counts, cache headers, compression.

Timings are measured by ``make bench`` (docs/benchmarks.md), never asserted here.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from urllib.parse import urljoin

import brotli
import pytest
from flask import Flask, url_for

from bench.datagen import BENCH_PASSWORD, BENCH_TOTP_SECRET, Scale, generate
from bench.queries import busiest_patient, counting_statements, sign_in, statements_per_page
from kap.extensions import db
from kap.models import Clinic
from kap.web import static_files as perf

SMALL = Scale(therapists=1, patients=10, sessions=60, entries=50, checkins=100, slug="small")
LARGE = Scale(therapists=1, patients=60, sessions=720, entries=2400, checkins=600, slug="large")
STATIC = Path(__file__).resolve().parents[2] / "static"
#: Relative ES module imports, static and dynamic (import('./x.js')).
IMPORT = re.compile(
    r"""(?:\bimport\s*(?:[\w*{}\s,]+from\s*)?|\bimport\()\s*['"](\.{1,2}/[^'"]+)['"]"""
)


@pytest.fixture
def fast_app(app):
    """The test app: create_app itself switches kap.web.static_files on, as in every profile."""
    return app


@pytest.fixture
def fingerprinted(fast_app):
    """As in production: static URLs carry the digest folder."""
    fast_app.config["STATIC_FINGERPRINT"] = True
    return fast_app


def _subjects(app, scale: Scale):
    with app.app_context():
        generate(scale, seed=1)
        clinic_id = db.session.scalar(db.select(Clinic.id).where(Clinic.slug == scale.slug))
        return busiest_patient(clinic_id)


def test_statements_per_page_do_not_grow_with_patients_and_entries(fast_app):
    """Each measured page runs as many SQL statements for 10 patients as for 60 with 48 times
    the entries: no N+1 anywhere on the dashboard, journal, session detail or timeline."""
    small = _subjects(fast_app, SMALL)
    large = _subjects(fast_app, LARGE)
    small_counts = statements_per_page(fast_app, small, BENCH_PASSWORD, BENCH_TOTP_SECRET)
    large_counts = statements_per_page(fast_app, large, BENCH_PASSWORD, BENCH_TOTP_SECRET)
    assert large_counts == small_counts


def test_dashboard_with_overdue_check_ins_and_signals_runs_the_same_statements(
    app, client, auth, people
):
    """The dashboard's overdue check-ins and PHQ-9 signals are read for the whole care list at
    once: as many statements with 2 patients after a course as with 20 (each with overdue
    check-ins and a possible relapse on its row)."""
    from kap.models.base import utcnow
    from tests.followup_data import patient_after_a_course
    from tests.helpers import user_by_email

    now = utcnow()
    auth.login("therapist@demo.test")

    def statements_with(total: int, already: int) -> tuple[int, str]:
        with app.app_context():
            therapist = user_by_email("therapist@demo.test")
            for number in range(already, total):
                patient_after_a_course(therapist, number, now)
            db.session.commit()
        client.get("/therapist/")  # warm: the clinic's instruments, templates' first reads
        with app.app_context(), counting_statements(db.engine) as statements:
            page = client.get("/therapist/").text
        return len(statements), page

    two, small_page = statements_with(2, 0)
    twenty, large_page = statements_with(20, 2)
    assert small_page.count("PHQ-9, GAD-7") == 2
    assert large_page.count("PHQ-9, GAD-7") == 20
    assert large_page.count("Possible relapse — review a booster by") == 20
    assert 0 < two == twenty


def test_large_data_set_really_is_larger(fast_app):
    """The comparison above means something: the large clinic's busiest patient has far more."""
    from kap.models import CareTeamMember, JournalEntry

    small, large = _subjects(fast_app, SMALL), _subjects(fast_app, LARGE)
    with fast_app.app_context():

        def entries(subjects):
            return db.session.scalar(
                db.select(db.func.count()).where(JournalEntry.patient_id == subjects.patient_id)
            )

        def care_list(email):
            from kap.models import User

            therapist = db.session.scalar(db.select(User).where(User.email == email))
            return db.session.scalar(
                db.select(db.func.count()).where(CareTeamMember.therapist_id == therapist.id)
            )

        assert entries(large) >= 5 * entries(small)
        assert care_list(large.therapist_email) == 60
        assert care_list(small.therapist_email) == 10


def test_fingerprinted_static_file_is_cached_for_a_year(fingerprinted):
    """/static/v-<digest>/css/app.css answers the file with a one-year immutable cache."""
    with fingerprinted.test_request_context():
        path = url_for("static", filename="css/app.css")
    assert re.fullmatch(r"/static/v-[0-9a-f]{12}/css/app\.css", path)
    response = fingerprinted.test_client().get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == perf.IMMUTABLE
    assert "Expires" not in response.headers
    assert response.data == (STATIC / "css" / "app.css").read_bytes()


def test_relative_module_imports_inherit_the_fingerprint(fingerprinted):
    """A module imported relatively (../lib/session/clock.js) is served under the same digest."""
    with fingerprinted.test_request_context():
        entry = url_for("static", filename="js/pages/session-mode.js")
    imported = urljoin(entry, "../lib/session/clock.js")
    assert imported.endswith("/js/lib/session/clock.js") and "/v-" in imported
    response = fingerprinted.test_client().get(imported)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == perf.IMMUTABLE


def test_fingerprinted_files_carry_no_validators(fingerprinted):
    """Never revalidated, a fingerprinted file sends no ETag, Last-Modified or file name."""
    with fingerprinted.test_request_context():
        path = url_for("static", filename="js/pages/pwa.js")
    headers = fingerprinted.test_client().get(path, headers={"Accept-Encoding": "br"}).headers
    assert headers["Content-Encoding"] == "br"
    for name in ("ETag", "Last-Modified", "Content-Disposition"):
        assert name not in headers, name


def test_plain_static_url_is_revalidated(fast_app):
    """Without a digest the file is still served, with no-cache and a working ETag (304)."""
    client = fast_app.test_client()
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    again = client.get("/static/css/app.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_stale_fingerprint_gets_the_current_file_without_the_long_cache(fingerprinted):
    """A page from before a deploy still gets its files, but they are not pinned for a year."""
    response = fingerprinted.test_client().get("/static/v-000000000000/css/app.css")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


def test_missing_static_file_is_404(fingerprinted):
    """Fingerprinting does not make unknown paths exist."""
    with fingerprinted.test_request_context():
        path = url_for("static", filename="css/nope.css")
    assert fingerprinted.test_client().get(path).status_code == 404


def test_pages_link_fingerprinted_assets(fingerprinted):
    """The sign-in page's stylesheet link carries the digest folder."""
    page = fingerprinted.test_client().get("/signin").text
    assert re.search(r'href="/static/v-[0-9a-f]{12}/css/app\.css"', page)


def test_fingerprints_are_off_outside_production(fast_app):
    """Development and tests keep plain /static/ URLs; production turns the digest on."""
    with fast_app.test_request_context():
        assert url_for("static", filename="css/app.css") == "/static/css/app.css"
    production = Flask(__name__, static_folder=str(STATIC))
    production.config["ENV_NAME"] = "production"
    perf.init_app(production)
    assert production.config["STATIC_FINGERPRINT"] is True


def test_html_is_compressed_with_brotli(fast_app):
    """The sign-in page goes out brotli-compressed to a browser that accepts it."""
    response = fast_app.test_client().get("/signin", headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response.headers["Vary"]
    html = brotli.decompress(response.data).decode()
    assert "<form" in html and len(response.data) < len(html) / 2


@pytest.mark.parametrize("path", ["/static/css/app.css", "/static/js/pages/session-mode.js"])
def test_css_and_js_are_compressed_with_gzip(fast_app, path):
    """Stylesheets and scripts go out gzip-compressed, whole, with their length."""
    response = fast_app.test_client().get(path, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert gzip.decompress(response.data) == (STATIC / path.removeprefix("/static/")).read_bytes()


def test_static_files_get_brotli_at_its_best_level(fast_app):
    """Static files are compressed once at brotli's best level: smaller first visits."""
    data = (STATIC / "js" / "pages" / "session-mode.js").read_bytes()
    client = fast_app.test_client()
    response = client.get(
        "/static/js/pages/session-mode.js", headers={"Accept-Encoding": "gzip, br"}
    )
    assert response.headers["Content-Encoding"] == "br"
    assert response.data == brotli.compress(data, quality=11)
    again = client.get(
        "/static/js/pages/session-mode.js",
        headers={"Accept-Encoding": "gzip, br", "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_a_small_answer_is_left_as_it_is_but_still_varies_by_encoding(fast_app):
    """A body under Flask-Compress's minimum is not compressed (nor looked at by its hook),
    yet a cache must still keep it apart by Accept-Encoding, as it keeps the large ones."""
    response = fast_app.test_client().get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert len(response.data) < fast_app.config["COMPRESS_MIN_SIZE"]
    assert "Content-Encoding" not in response.headers
    assert response.headers.getlist("Vary") == ["Accept-Encoding"]


def test_no_compression_when_not_accepted(fast_app):
    """A client that accepts no encoding gets plain bytes."""
    response = fast_app.test_client().get("/signin")
    assert "Content-Encoding" not in response.headers


def test_signed_in_pages_stay_no_store_when_compressed(fast_app):
    """Compression does not loosen the no-store rule for patient data."""
    with fast_app.app_context():
        generate(SMALL, seed=1)
    client = fast_app.test_client()
    sign_in(client, "patient0001@small.test", BENCH_PASSWORD, None)
    response = client.get("/patient/journal", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "no-store" in response.headers["Cache-Control"]


def _worker(client) -> tuple[str, list[str]]:
    body = client.get("/sw.js").text
    version = re.search(r'const VERSION = "([0-9a-f]+)";', body).group(1)
    return version, json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))


@pytest.mark.parametrize("fingerprint", [True, False])
def test_worker_version_follows_every_static_file(app, monkeypatch, fingerprint):
    """Any static file changing (precached or not) makes a new worker version, so a new cache
    replaces the old digest-named files instead of sitting beside them."""
    app.config["STATIC_FINGERPRINT"] = fingerprint
    client = app.test_client()
    version, _ = _worker(client)
    assert _worker(client)[0] == version
    monkeypatch.setattr(app.extensions["kap_static_digest"], "value", lambda: "0123456789ab")
    assert _worker(client)[0] != version


def test_worker_precaches_the_digest_named_files_offline_pages_load(fingerprinted):
    """In production the precache holds the very URLs the offline pages request and every
    module they import, lazily or not, so session mode starts from cache without a network."""
    client = fingerprinted.test_client()
    _, precache = _worker(client)
    digest = fingerprinted.extensions["kap_static_digest"].value()
    static = [url for url in precache if url.startswith("/static/")]
    assert static and all(url.startswith(f"/static/v-{digest}/") for url in static)
    needed = set()
    for page in [url for url in precache if url.startswith("/offline")]:
        html = client.get(page).text
        needed |= set(re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="(/static/[^"]+)"', html))
    assert f"/static/v-{digest}/js/pages/session-mode.js" in needed
    seen = set()
    while needed - seen:
        url = (needed - seen).pop()
        seen.add(url)
        assert url in precache, f"{url} is loaded offline but not precached"
        if url.endswith(".js"):
            source = (STATIC / url.split("/", 3)[3]).read_text()
            needed |= {urljoin(url, target) for target in IMPORT.findall(source)}
    assert f"/static/v-{digest}/js/lib/session/soundscape.js" in seen  # a lazy import was followed
