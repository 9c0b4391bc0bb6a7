"""Production's shape in one test module: two gunicorn app servers behind deploy/'s nginx
(TLS, HTTP/2), one PostgreSQL, one Redis (issue 18, Build item 3).

Each instance keeps its own access log; a request carries a unique probe in its query string,
so a test can say which instance answered it. The test that stops an instance runs last.
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from kap.config import Config
from kap.web.headers import HSTS
from tests.deploy.conftest import PASSWORD, probe
from tests.helpers import csrf_from
from tests.integration.attacks.helpers import race

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
#: Failed sign-ins allowed per account (kap/config.py), on one instance or on many.
ACCOUNT_LIMIT = int(Config.SIGNIN_ACCOUNT_FAILURE_LIMIT.split()[0])
IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_URL = re.compile(r'(/static/v-[0-9a-f]{12}/css/app\.css)"')


def test_plain_http_is_sent_to_https(cluster):
    """Port 80 answers every request with a permanent redirect to the same path over TLS, on
    the site's own name whatever name the request used."""
    client = cluster.client()
    response = client.get(f"{cluster.proxy.http_url}/patient/journal?x=1")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/patient/journal?x=1"
    other_name = client.get(f"{cluster.proxy.http_url}/signin", headers={"Host": "localhost"})
    assert other_name.headers["Location"] == "https://127.0.0.1/signin"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_that_is_not_the_sites_gets_no_answer(cluster, scheme):
    """A Host the site does not serve (a scanner, a stale DNS record, a forged name): nginx
    closes the connection without an answer, a redirect or a page, and no app server sees it."""
    marker = probe(f"unknown-host-{scheme}")
    base = cluster.proxy.http_url if scheme == "http" else cluster.proxy.https_url
    with pytest.raises(httpx.RemoteProtocolError):
        cluster.client().get(f"{base}/signin?{marker}", headers={"Host": "evil.example"})
    assert cluster.served_by(marker, seconds=1) == []


def test_tls_with_http2_and_hsts_sent_once(cluster):
    """The site speaks HTTP/2 over TLS, and HSTS comes from the app only (not doubled)."""
    response = cluster.client().get("/healthz")
    assert response.status_code == 200
    assert response.http_version == "HTTP/2"
    assert response.headers.get_list("strict-transport-security") == [HSTS]


def test_requests_alternate_between_the_two_instances(cluster):
    """Consecutive requests through nginx are answered by one instance, then the other."""
    client = cluster.client()
    served = []
    for number in range(6):
        marker = probe(f"alternate{number}")
        assert client.get(f"/healthz?{marker}").status_code == 200
        served += cluster.served_by(marker)
    assert len(served) == 6, served
    assert sorted(served) == ["a"] * 3 + ["b"] * 3, served
    assert all(first != second for first, second in itertools.pairwise(served))


def test_static_files_come_from_nginx_with_the_right_caching(cluster):
    """A page's digest URL is served by nginx, cached for a year; the plain URL is
    revalidated (304 on its ETag); a digest nginx does not have goes to the app, uncached."""
    client = cluster.client()
    page = client.get("/signin")
    assert page.status_code == 200
    digest_path = DIGEST_URL.search(page.text).group(1)
    marker = probe("static")
    fingerprinted = client.get(f"{digest_path}?{marker}", headers={"Accept-Encoding": "gzip"})
    assert fingerprinted.status_code == 200
    assert fingerprinted.headers["Cache-Control"] == IMMUTABLE
    assert fingerprinted.headers["Content-Encoding"] == "gzip"
    assert fingerprinted.headers["Content-Type"].startswith("text/css")
    assert "ETag" not in fingerprinted.headers
    assert cluster.served_by(marker, seconds=1) == []  # neither app server saw it
    # The release's own gzip -9 file, byte for byte (not gzip -5 on the fly) ...
    published = cluster.proxy.prefix / "public" / digest_path.removeprefix("/")
    gzipped = _raw_body(client, digest_path, "gzip", "gzip")
    assert gzipped == published.with_name("app.css.gz").read_bytes()
    # ... and brotli 11 for a browser that takes it, as Chromium and Safari do.
    brotli = _raw_body(client, digest_path, "gzip, deflate, br, zstd", "br")
    assert brotli == published.with_name("app.css.br").read_bytes()

    plain = client.get("/static/css/app.css")
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "no-cache"
    assert plain.content == fingerprinted.content
    again = client.get("/static/css/app.css", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304

    marker = probe("stale")
    stale = client.get(f"/static/v-000000000000/css/app.css?{marker}")
    assert stale.status_code == 200
    assert stale.headers["Cache-Control"] == "no-cache"
    assert stale.content == plain.content
    assert len(cluster.served_by(marker)) == 1


def _raw_body(client: httpx.Client, path: str, accept: str, encoding: str) -> bytes:
    """The body as sent (still compressed), checked to be in ``encoding``."""
    with client.stream("GET", path, headers={"Accept-Encoding": accept}) as response:
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        return b"".join(response.iter_raw())


def test_service_worker_goes_through_the_app_uncached(cluster):
    """/sw.js is rendered by an app server and always revalidated."""
    marker = probe("sw")
    response = cluster.client().get(f"/sw.js?{marker}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert len(cluster.served_by(marker)) == 1


def test_metrics_are_closed_from_outside_and_readiness_is_open(cluster):
    """nginx refuses /metrics itself (no app server sees it); /readyz reaches the app."""
    client = cluster.client()
    marker = probe("metrics")
    assert client.get(f"/metrics?{marker}").status_code == 403
    assert client.get("/metrics/anything").status_code == 403
    assert cluster.served_by(marker, seconds=1) == []
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


def test_thirty_simultaneous_outbox_replays_land_exactly_once(cluster):
    """The same journal client_id posted thirty times at once, across both instances, makes
    one entry: one 201, every other answer a 200 with that same entry."""
    patient = cluster.signed_in("patient@demo.test")
    clients = [cluster.copy(patient) for _ in range(30)]
    client_id = f"deploy-race-{uuid.uuid4()}"
    marker = probe("outbox")

    def replay(index: int):
        return clients[index].post(
            f"/api/v1/journal?{marker}",
            json={"client_id": client_id, "body": "One entry, sent again and again.",
                  "shared": False},
        )  # fmt: skip

    responses = race(30, replay)
    statuses = [getattr(r, "status_code", r) for r in responses]
    assert sorted(statuses) == [200] * 29 + [201], statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert (
        cluster.scalar("SELECT count(*) FROM journal_entries WHERE client_id = :c", c=client_id)
        == 1
    )
    served = cluster.served_by(marker)
    assert set(served) == {"a", "b"}, served


def test_the_app_sees_the_real_client_and_not_a_forged_address(cluster):
    """A client at 127.0.0.2 that writes X-Forwarded-For itself is recorded as 127.0.0.2: nginx
    replaces the header with the address it saw, and the app trusts exactly that one hop."""
    client = cluster.client(local_address="127.0.0.2")
    marker = probe("forged")
    response = client.post(
        f"/api/v1/session?{marker}",
        json={"email": "therapist@demo.test", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.66"},
    )
    assert response.status_code == 200
    user_id = response.json()["user"]["id"]
    address = cluster.scalar(
        "SELECT ip_address FROM auth_sessions WHERE user_id = :u ORDER BY id DESC LIMIT 1",
        u=user_id,
    )
    assert address == "127.0.0.2"
    [line] = [
        line
        for instance in cluster.instances
        for line in instance.logged().splitlines()
        if marker in line
    ]
    assert 'xff="127.0.0.2"' in line  # replaced, not "203.0.113.66, 127.0.0.2"


def test_the_sign_in_limit_counts_across_both_instances(cluster):
    """Wrong passwords sent through nginx reach both instances, and the account is locked
    after the same number of failures as on one instance: the next try, even with the right
    password, is refused."""
    client = cluster.client()
    marker = probe("guess")
    statuses = [
        client.post(
            f"/api/v1/session?{marker}",
            json={"email": "patient2@demo.test", "password": f"wrong-{attempt}"},
        ).status_code
        for attempt in range(ACCOUNT_LIMIT)
    ]
    assert statuses == [401] * ACCOUNT_LIMIT
    assert set(cluster.served_by(marker)) == {"a", "b"}
    right = client.post(
        "/api/v1/session", json={"email": "patient2@demo.test", "password": PASSWORD}
    )
    assert right.status_code == 429


def test_external_links_are_https_behind_the_proxy(cluster):
    """url_for(..., _external=True) builds https links with nginx's host and port (the calendar
    feed URL), and the link works through nginx."""
    patient = cluster.signed_in("patient@demo.test")
    response = patient.get("/api/v1/me/calendar")
    assert response.status_code == 200
    link = urlsplit(response.json()["url"])
    assert (link.scheme, link.netloc) == ("https", urlsplit(cluster.url).netloc)
    feed = cluster.client().get(link.path)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"].startswith("text/calendar")


def test_an_upload_through_one_instance_plays_through_the_other(cluster):
    """Audio uploaded to the clinic's library through one app server is played, whole and by
    byte range, through both (each instance has its own disk: only shared storage passes)."""
    admin = cluster.signed_in("admin@demo.test")
    token = csrf_from(admin.get("/clinic/audio").text)
    content = (AUDIO / "tone.wav").read_bytes()
    uploaded = admin.post(
        "/clinic/audio",
        data={"csrf_token": token},
        files={"upload": ("tone.wav", content, "audio/wav")},
    )
    assert uploaded.status_code == 302, uploaded.text[:500]
    audio_id = re.search(r'src="/media/audio/(\d+)"', admin.get("/clinic/audio").text).group(1)
    served = {}
    for turn in range(2):  # round robin: one play on each instance
        marker = probe(f"play{turn}")
        response = admin.get(f"/media/audio/{audio_id}?{marker}")
        assert response.status_code == 200, response.text[:300]
        served[cluster.served_by(marker)[0]] = response.content
    assert set(served) == {"a", "b"}
    assert served["a"] == served["b"] == content
    for _ in range(2):
        part = admin.get(f"/media/audio/{audio_id}", headers={"Range": "bytes=0-99"})
        assert part.status_code == 206
        assert part.content == content[:100]


def test_stopping_one_instance_mid_run_loses_no_acknowledged_write(cluster):
    """While four writers post journal entries, one instance gets SIGTERM. Every entry the
    client saw acknowledged (200/201) is in the database exactly once; a write that was not
    acknowledged is retried with its client_id (as the outbox does) and lands once too."""
    patient = cluster.signed_in("patient@demo.test")
    writers, per_writer = 4, 15
    acknowledged: list[str] = []
    unanswered: list[str] = []
    lock = threading.Lock()
    stop_now = threading.Event()
    [first, second] = cluster.instances

    def write(writer: int) -> None:
        client = cluster.copy(patient)
        for number in range(per_writer):
            client_id = f"deploy-stop-{writer}-{number}-{uuid.uuid4().hex[:8]}"
            for _ in range(5):  # the outbox's retries, same client_id
                try:
                    response = client.post(
                        "/api/v1/journal",
                        json={"client_id": client_id, "body": "Written while a server stops.",
                              "shared": False},
                    )  # fmt: skip
                except httpx.TransportError:  # dropped: not acknowledged, so sent again
                    continue
                if response.status_code in (200, 201):
                    with lock:
                        acknowledged.append(client_id)
                        if len(acknowledged) == 12:
                            stop_now.set()
                    break
            else:
                with lock:
                    unanswered.append(client_id)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    assert stop_now.wait(60), "the writers never got going"
    first.process.terminate()  # SIGTERM: gunicorn finishes what it is doing, takes nothing new
    first.process.wait(40)
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)

    assert first.process.returncode == 0
    assert unanswered == []
    assert len(acknowledged) == writers * per_writer
    stored = dict(
        cluster.rows(
            "SELECT client_id, count(*) FROM journal_entries WHERE client_id LIKE 'deploy-stop-%'"
            " GROUP BY client_id ORDER BY client_id"
        )
    )
    assert stored == {client_id: 1 for client_id in acknowledged}
    # The writes after the stop went to the instance still running.
    tail = probe("after-stop")
    assert patient.get(f"/healthz?{tail}").status_code == 200
    assert cluster.served_by(tail) == [second.name]
