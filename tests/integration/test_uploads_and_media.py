"""Uploading audio to the clinic's library and serving it back to the clinic's own people.

Uploads go through the real, CSRF-protected library page. Each test checks the stored
``AudioFile`` rows and the files in the app's media store: the folder store in its own MEDIA_DIR
(a fresh tmp folder per test), or the database store on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import AudioFile
from kap.services.media import media_store, megabytes
from tests.helpers import csrf_from

AUDIO = Path(__file__).resolve().parent.parent / "fixtures" / "audio"
NOT_AUDIO_MESSAGE = "Upload MP3, OGG/Opus, M4A/AAC or WAV audio."


#: The demo clinics and people only: nothing here reads their sessions or journals.
pytestmark = pytest.mark.usefixtures("demo_people_only")


def fixture_bytes(name: str) -> bytes:
    return (AUDIO / name).read_bytes()


def upload(client, filename: str, content: bytes, *, page: str = "/clinic/audio"):
    """Choose a file on ``page`` and press Upload (the client is signed in)."""
    token = csrf_from(client.get(page).text)
    return client.post(
        "/clinic/audio",
        data={"csrf_token": token, "upload": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def stored_audio(app) -> list[AudioFile]:
    """Every AudioFile row, oldest first (detached snapshots)."""
    with app.app_context():
        return list(db.session.scalars(select(AudioFile).order_by(AudioFile.id)))


def files_in_media_store(app) -> list[str]:
    """Names of everything in the media store (the folder store's temporary files included)."""
    with app.app_context():
        return media_store().names()


def stored_bytes(app, name: str) -> bytes:
    """The bytes the media store keeps under ``name``."""
    with app.app_context(), media_store().open(name) as stored:
        return stored.read()


def page_errors(page_html: str) -> list[str]:
    """The messages in the page's error box."""
    box = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', page_html, re.S)
    return [html.unescape(m) for m in re.findall(r"<p>(.*?)</p>", box.group(1))] if box else []


@pytest.fixture
def uploaded(app, client, auth, people) -> AudioFile:
    """tone.wav, uploaded to Demo Clinic's library by admin@demo.test (who stays signed in)."""
    auth.login("admin@demo.test")
    assert upload(client, "tone.wav", fixture_bytes("tone.wav")).status_code == 302
    [audio] = stored_audio(app)
    return audio


# --- uploading -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content_type", "extension"),
    [
        ("tone.mp3", "audio/mpeg", "mp3"),
        ("tone.ogg", "audio/ogg", "ogg"),
        ("tone.opus", "audio/ogg", "opus"),
        ("tone.m4a", "audio/mp4", "m4a"),
        ("tone.wav", "audio/wav", "wav"),
    ],
)
def test_each_accepted_format_is_stored_with_its_duration(
    app, client, auth, admin, filename, content_type, extension
):
    """MP3, Ogg Vorbis, Opus, M4A and WAV are kept with type, size, checksum and length."""
    content = fixture_bytes(filename)
    auth.login("admin@demo.test")

    response = upload(client, filename, content)

    assert response.status_code == 302
    assert response.headers["Location"] == "/clinic/audio"
    [audio] = stored_audio(app)
    assert audio.original_name == filename
    assert audio.content_type == content_type
    assert audio.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert audio.size_bytes == len(content)
    assert audio.sha256 == hashlib.sha256(content).hexdigest()
    assert (audio.clinic_id, audio.uploaded_by_id) == (admin.clinic_id, admin.id)
    assert files_in_media_store(app) == [audio.storage_name]
    assert audio.storage_name.endswith(f".{extension}")
    assert stored_bytes(app, audio.storage_name) == content

    library = client.get("/clinic/audio").text
    assert f"Uploaded “{filename}”." in library
    assert f"<td>{filename}</td><td>0:02</td>" in library
    assert f'src="/media/audio/{audio.id}"' in library
    served = client.get(f"/media/audio/{audio.id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == content_type
    assert served.data == content


def test_type_is_judged_by_content_not_by_name(app, client, auth, people):
    """A WAV file named .mp3 is stored and served as WAV."""
    auth.login("admin@demo.test")

    response = upload(client, "actually-a-wave.mp3", fixture_bytes("tone.wav"))

    assert response.status_code == 302
    [audio] = stored_audio(app)
    assert audio.content_type == "audio/wav"
    assert audio.storage_name.endswith(".wav")
    assert client.get(f"/media/audio/{audio.id}").headers["Content-Type"] == "audio/wav"


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("not-audio.mp3", fixture_bytes("not-audio.mp3"), NOT_AUDIO_MESSAGE),
        ("cover.mp3", b"\x89PNG\r\n\x1a\n" + bytes(200), NOT_AUDIO_MESSAGE),
        ("silence.wav", b"", "The file is empty."),
    ],
    ids=["text-named-mp3", "image-named-mp3", "empty-file"],
)
def test_file_that_is_not_audio_is_refused_and_nothing_is_kept(
    app, client, auth, people, filename, content, message
):
    """Content that is not playable audio answers 400 with the reason; no row, no file."""
    auth.login("admin@demo.test")

    response = upload(client, filename, content)

    assert response.status_code == 400
    assert page_errors(response.text) == [message]
    assert stored_audio(app) == []
    assert files_in_media_store(app) == []


def test_upload_without_a_file_is_refused(app, client, auth, people):
    """Pressing Upload with no file chosen answers 400 and asks for one."""
    auth.login("admin@demo.test")
    token = csrf_from(client.get("/clinic/audio").text)

    response = client.post(
        "/clinic/audio", data={"csrf_token": token}, content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert page_errors(response.text) == ["Choose an audio file to upload."]
    assert stored_audio(app) == []


@pytest.mark.parametrize(
    ("room", "status"), [(-1, 413), (0, 302)], ids=["one-byte-over", "exactly-the-limit"]
)
def test_size_limit_is_enforced_to_the_byte(app, client, auth, people, room, status):
    """A file over MAX_UPLOAD_BYTES answers 413, keeps nothing and leaves no temporary file."""
    content = fixture_bytes("tone.wav")
    limit = len(content) + room
    app.config["MAX_UPLOAD_BYTES"] = limit
    auth.login("admin@demo.test")

    response = upload(client, "tone.wav", content)

    assert response.status_code == status
    if status == 413:
        [message] = page_errors(response.text)
        assert message.startswith(f"That file is larger than the limit of {megabytes(limit)}.")
        assert stored_audio(app) == []
        assert files_in_media_store(app) == []
    else:
        assert len(stored_audio(app)) == 1


def test_request_beyond_the_servers_limit_is_refused(app, client, auth, people):
    """A body larger than MAX_CONTENT_LENGTH is turned away with 413 before anything is read."""
    auth.login("admin@demo.test")
    app.config["MAX_CONTENT_LENGTH"] = 4096

    response = upload(client, "tone.wav", fixture_bytes("tone.wav"))

    assert response.status_code == 413
    assert "That is too large to send here." in response.text
    assert stored_audio(app) == []
    assert files_in_media_store(app) == []


def test_only_clinic_admins_can_upload(app, client, auth, people):
    """A therapist's upload post is sent to their dashboard and nothing is stored."""
    auth.login("therapist@demo.test")

    response = upload(client, "tone.wav", fixture_bytes("tone.wav"), page="/therapist/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/therapist/"
    assert stored_audio(app) == []


def editor_post(client, action: str, filename: str, content: bytes):
    """On a new template's editor, choose a file and press the button named ``action``."""
    token = csrf_from(client.get("/clinic/templates/new").text)
    return client.post(
        "/clinic/templates/new",
        data={
            "csrf_token": token,
            "name": "Evening session",
            "action": action,
            "upload": (io.BytesIO(content), filename),
        },
        content_type="multipart/form-data",
    )


def test_template_editor_refuses_a_file_that_is_not_audio(app, client, auth, people):
    """The editor shows the reason beside its upload field and keeps nothing."""
    auth.login("admin@demo.test")

    response = editor_post(client, "add-upload", "not-audio.mp3", fixture_bytes("not-audio.mp3"))

    assert response.status_code == 400
    assert re.search(rf'id="upload-error">{re.escape(NOT_AUDIO_MESSAGE)}</p>', response.text)
    assert stored_audio(app) == []
    assert files_in_media_store(app) == []


def test_template_editor_upload_button_adds_a_track(app, client, auth, people):
    """'Upload and add track' stores the file and shows it as a new track row, without error."""
    auth.login("admin@demo.test")

    response = editor_post(client, "add-upload", "evening_tone.wav", fixture_bytes("tone.wav"))

    [audio] = stored_audio(app)
    assert response.status_code == 200
    assert 'name="tracks-0-title" value="Evening tone"' in response.text
    assert f'value="upload:{audio.id}" selected' in response.text
    assert "That button did not work" not in response.text


# --- serving -------------------------------------------------------------------------------


def test_everyone_signed_in_at_the_clinic_can_play_a_track(page_as, uploaded):
    """Admin, therapist and patient of the clinic all get the whole file, seekable."""
    content = fixture_bytes("tone.wav")
    for email in ("admin@demo.test", "therapist@demo.test", "patient@demo.test"):
        response = page_as(email).get(f"/media/audio/{uploaded.id}")
        assert response.status_code == 200, email
        assert response.headers["Content-Type"] == "audio/wav"
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.data == content


def test_track_is_marked_private_and_not_stored(client, uploaded):
    """A clinic's track may only sit in that person's own browser: private, and no-store."""
    cache_control = client.get(f"/media/audio/{uploaded.id}").headers["Cache-Control"]
    directives = {d.strip() for d in cache_control.split(",")}
    assert {"private", "no-store"} <= directives


def _without_countdown(body: bytes) -> bytes:
    """The page minus what changes between any two requests: the idle dialog's countdown,
    its sign-in link (which echoes the requested path) and the CSRF token (signed with the
    second it was made). None says anything about whether the track exists."""
    varying = (
        rb'data-idle-remaining="\d+"|data-signin-url="[^"]*"|name="csrf-token" content="[^"]*"'
    )
    return re.sub(varying, b"", body)


def test_another_clinic_cannot_see_or_play_a_track(page_as, uploaded):
    """Other Clinic's people get 404, exactly as for a track that does not exist."""
    for email in ("admin@other.test", "therapist@other.test", "patient@other.test"):
        browser = page_as(email)
        hidden = browser.get(f"/media/audio/{uploaded.id}")
        missing = browser.get("/media/audio/999999")
        assert hidden.status_code == missing.status_code == 404, email
        # Identical but for the idle dialog's countdown, which moves between requests.
        assert _without_countdown(hidden.data) == _without_countdown(missing.data)
    other_library = page_as("admin@other.test").get("/clinic/audio").text
    assert "tone.wav" not in other_library
    assert f"/media/audio/{uploaded.id}" not in other_library


def test_signed_out_visitor_is_sent_to_sign_in(app, uploaded):
    """Without a session the track is not served; the visitor is asked to sign in."""
    response = app.test_client().get(f"/media/audio/{uploaded.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/signin?next=/media/audio/{uploaded.id}"


@pytest.mark.parametrize(
    ("requested", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=1000-1099", 1000, 1099), ("bytes=-100", None, None)],
    ids=["first-100", "middle", "last-100"],
)
def test_range_request_gets_exactly_those_bytes(client, uploaded, requested, start, end):
    """A player seeking with a Range header gets 206 and just that slice."""
    content = fixture_bytes("tone.wav")
    if start is None:
        start, end = len(content) - 100, len(content) - 1

    response = client.get(f"/media/audio/{uploaded.id}", headers={"Range": requested})

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(content)}"
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.data == content[start : end + 1]
    assert len(response.data) == 100


def test_range_beyond_the_end_is_not_satisfiable(client, uploaded):
    """Asking for bytes past the end answers 416."""
    response = client.get(f"/media/audio/{uploaded.id}", headers={"Range": "bytes=999999-"})
    assert response.status_code == 416


def test_unchanged_track_is_not_sent_again(client, uploaded):
    """A browser revalidating with the ETag gets 304 and no body."""
    first = client.get(f"/media/audio/{uploaded.id}")

    again = client.get(
        f"/media/audio/{uploaded.id}", headers={"If-None-Match": first.headers["ETag"]}
    )

    assert first.headers["ETag"] == f'"{uploaded.sha256}"'
    assert again.status_code == 304
    assert again.data == b""
