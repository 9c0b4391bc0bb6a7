"""The media store: what a second app server reads, what a Range request gets, what a race keeps.

Two app servers are two Flask apps with their own empty MEDIA_DIR on one database: this run's
PostgreSQL when KAP_TEST_DATABASE_URL names one (a database of their own), else a SQLite file.
The store tests run on both stores: the folder (the embedded default) and the database.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import event, func, select

from kap import create_app
from kap.config import TestConfig
from kap.demo.seed import seed_demo
from kap.extensions import db
from kap.models import MediaBlob, MediaChunk
from kap.services.audio.samples import SAMPLE_RATE, encode_wav
from kap.services.errors import TooLarge
from kap.services.media import DatabaseStore, MediaMissing, media_store
from kap.services.media.database import CHUNK_BYTES
from tests.database import own_postgres_database
from tests.helpers import ApiClient, csrf_from, page_client

STORES = ["folder", "database"]


@pytest.fixture
def shared_database(tmp_path) -> Iterator[str]:
    """A database of this test's own: PostgreSQL when the run has one, else a SQLite file."""
    own = own_postgres_database()
    if own is None:
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    url, drop = own
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def server(shared_database, tmp_path) -> Iterator[Callable[..., Flask]]:
    """Makes app servers on the shared database, each with its own empty media folder; the
    first made creates the schema."""
    made: list[Flask] = []

    def make(store: str = "database") -> Flask:
        class ServerConfig(TestConfig):
            SQLALCHEMY_DATABASE_URI = shared_database
            MEDIA_STORE = store

        app = create_app(ServerConfig())
        app.config["MEDIA_DIR"] = str(tmp_path / f"media-{len(made)}")
        if not made:
            with app.app_context():
                db.drop_all()
                db.create_all()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def noise_wav(tmp_path: Path, seconds: float) -> bytes:
    """A WAV of noise: no two stretches alike, so a range from the wrong offset shows."""
    samples = np.random.default_rng(7).uniform(-0.5, 0.5, round(seconds * SAMPLE_RATE))
    path = tmp_path / "noise.wav"
    encode_wav(samples.astype(np.float32), path)
    return path.read_bytes()


def upload(client, filename: str, content: bytes) -> int:
    """Upload through the library page; the new file's id."""
    token = csrf_from(client.get("/clinic/audio").text)
    response = client.post(
        "/clinic/audio",
        data={"csrf_token": token, "upload": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.status_code
    library = client.get("/clinic/audio").text
    return max(int(i) for i in re.findall(r'src="/media/audio/(\d+)"', library))


@contextmanager
def chunk_queries(app: Flask) -> Iterator[list[str]]:
    """The statements that read media chunks on ``app``'s engine while the block runs."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM media_chunks" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def folder_files(app: Flask) -> list[str]:
    folder = Path(app.config["MEDIA_DIR"])
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- two app servers ------------------------------------------------------------------------


def test_an_upload_through_one_server_plays_through_the_other(server, tmp_path):
    """Uploaded on server A, served by server B (its own empty folder) whole, by ranges
    (first bytes, across a chunk boundary, a suffix), 416 past the end and 304 when unchanged."""
    first, second = server(), server()
    with first.app_context():
        seed_demo()
        db.session.commit()
    content = noise_wav(tmp_path, 30.0)
    assert len(content) > 2 * CHUNK_BYTES

    audio_id = upload(page_client(first, "admin@demo.test"), "noise.wav", content)

    player = page_client(second, "patient@demo.test")
    url = f"/media/audio/{audio_id}"
    whole = player.get(url)
    assert whole.status_code == 200
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Length"] == str(len(content))
    assert whole.data == content
    boundary = CHUNK_BYTES
    for requested, start, end, chunks_read in [
        ("bytes=0-99", 0, 99, 1),
        (f"bytes={boundary - 1000}-{boundary + 999}", boundary - 1000, boundary + 999, 2),
        (f"bytes={2 * boundary - 5}-", 2 * boundary - 5, len(content) - 1, 2),
        ("bytes=-100", len(content) - 100, len(content) - 1, 1),
    ]:
        with chunk_queries(second) as queries:
            part = player.get(url, headers={"Range": requested})
            assert part.status_code == 206, requested
            assert part.headers["Content-Range"] == f"bytes {start}-{end}/{len(content)}"
            assert part.headers["Content-Length"] == str(end - start + 1)
            assert part.data == content[start : end + 1], requested
        assert len(queries) == chunks_read, requested  # only the chunks the range spans
    beyond = player.get(url, headers={"Range": f"bytes={len(content)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(content)}"
    etag = whole.headers["ETag"]
    assert etag == f'"{hashlib.sha256(content).hexdigest()}"'
    unchanged = player.get(url, headers={"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.data) == (304, b"")
    # The bytes are in the database, not on either server's disk.
    assert folder_files(first) == folder_files(second) == []


def test_a_prompt_track_made_by_one_server_is_served_by_the_other(server):
    """The track rendered on server A's first request is in the store; server B finds it
    there and serves the same bytes, and the store keeps one copy."""
    first, second = server(), server()
    with first.app_context():
        seed_demo()
        db.session.commit()
    on_first = ApiClient.signed_in(first, "patient@demo.test")
    session = on_first.get("/api/v1/sessions").json["sessions"][0]["id"]
    url = on_first.get(f"/api/v1/sessions/{session}").json["prompt_audio"]["url"]
    made = on_first.get(url)
    assert made.status_code == 200
    key = made.headers["ETag"].strip('"')
    name = f"prompts/{key}.m4a"
    with second.app_context():
        assert media_store().exists(name)  # so server B serves it rather than rendering

    served = ApiClient.signed_in(second, "patient@demo.test").get(url)

    assert served.status_code == 200
    assert served.data == made.data
    with second.app_context():
        assert [n for n in media_store().names() if n.startswith("prompts/")] == [name]
    assert folder_files(first) == folder_files(second) == []


# --- the stores themselves ------------------------------------------------------------------


@pytest.fixture(params=STORES)
def store_app(request, server) -> Iterator[Flask]:
    """One app server with the store named by the parameter, in an app context."""
    app = server(request.param)
    with app.app_context():
        yield app


def test_same_prompt_key_put_from_several_threads_keeps_one_whole_copy(store_app):
    """Eight servers' threads putting one prompt key at once: one copy, whole, no leftovers."""
    name = f"prompts/{secrets.token_hex(8)}.m4a"
    content = secrets.token_bytes(2 * CHUNK_BYTES + 12345)
    start = threading.Barrier(8)
    results, errors = [], []

    def put() -> None:
        with store_app.app_context():
            start.wait()
            try:
                results.append(media_store().put(name, io.BytesIO(content)))
            except Exception as error:
                errors.append(error)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {(r.size, r.sha256) for r in results} == {
        (len(content), hashlib.sha256(content).hexdigest())
    }
    store = media_store()
    assert store.names() == [name]
    with store.open(name) as stored:
        assert stored.read() == content
    if store_app.config["MEDIA_STORE"] == "database":
        assert db.session.scalar(select(func.count()).select_from(MediaBlob)) == 1
        assert db.session.scalar(select(func.count()).select_from(MediaChunk)) == 3


def test_a_put_over_its_limit_keeps_nothing(store_app):
    """Past the limit: TooLarge, and no name, chunk or temporary file is left."""
    store = media_store()
    with pytest.raises(TooLarge):
        store.put("big.wav", io.BytesIO(bytes(CHUNK_BYTES + 10)), limit=CHUNK_BYTES)
    assert store.names() == []
    assert not store.exists("big.wav")
    stored = store.put("fits.wav", io.BytesIO(bytes(CHUNK_BYTES)), limit=CHUNK_BYTES)
    assert stored.size == CHUNK_BYTES
    assert store.names() == ["fits.wav"]


def test_a_stored_file_reads_from_anywhere_and_can_be_forgotten(store_app):
    """Seek and read across chunk boundaries, a local copy for PyAV/mutagen, size, delete."""
    store = media_store()
    content = secrets.token_bytes(CHUNK_BYTES * 2 + 1)
    store.put("a.bin", io.BytesIO(content))
    assert store.size("a.bin") == len(content)
    with store.open("a.bin") as stored:
        for offset, length in [(0, 10), (CHUNK_BYTES - 3, 7), (2 * CHUNK_BYTES, 5), (5, 0)]:
            stored.seek(offset)
            assert stored.read(length) == content[offset : offset + length]
        stored.seek(len(content) - 2)
        assert stored.read() == content[-2:]
        assert stored.read(10) == b""
    with store.materialised("a.bin") as path:
        assert path.read_bytes() == content
    store.delete("a.bin")
    assert not store.exists("a.bin")
    assert store.names() == []
    with pytest.raises(MediaMissing):
        store.open("a.bin")
    store.delete("a.bin")  # forgetting twice is fine


@pytest.mark.parametrize("name", ["../escape.wav", "/etc/passwd", ".put-temp", "a//b", ""])
def test_a_name_outside_the_rules_is_refused(store_app, name):
    """A name can never leave the folder or look like a temporary file."""
    with pytest.raises(ValueError, match="not a valid media name"):
        media_store().put(name, io.BytesIO(b"x"))


def test_a_missing_file_answers_404_not_500(server):
    """A row whose bytes are gone (e.g. a restore without media) is a 404 for the player."""
    app = server()
    with app.app_context():
        seed_demo()
        db.session.commit()
    client = page_client(app, "admin@demo.test")
    tone = Path(__file__).resolve().parent.parent / "fixtures" / "audio" / "tone.wav"
    audio_id = upload(client, "tone.wav", tone.read_bytes())
    with app.app_context():
        store = media_store()
        [name] = store.names()
        store.delete(name)
    assert client.get(f"/media/audio/{audio_id}").status_code == 404


def test_the_database_store_reads_blobs_written_with_another_chunk_size(server):
    """Each blob keeps its own chunk size: changing the store's later still reads old ones."""
    with server().app_context():
        content = secrets.token_bytes(10_000)
        DatabaseStore(db.engine, chunk_bytes=4096).put("old.bin", io.BytesIO(content))
        with DatabaseStore(db.engine).open("old.bin") as stored:
            stored.seek(4090)
            assert stored.read(20) == content[4090:4110]
        assert db.session.scalar(select(func.count()).select_from(MediaChunk)) == 3
