"""An uploaded file's duration is bounded by its real size and the longest track allowed
(issue 13, finding 9). Before, a 144-byte WAV claiming 136 years was accepted and played in
a session."""

from __future__ import annotations

import io
import struct

import pytest
from sqlalchemy import func, select

from kap.extensions import db
from kap.models import AudioFile
from tests.helpers import csrf_from

#: The demo clinics and people only: nothing here reads their sessions or journals.
pytestmark = pytest.mark.usefixtures("demo_people_only")


def wav(*, sample_rate: int, data_bytes: int, claimed_data_bytes: int | None = None) -> bytes:
    """A mono 8-bit PCM WAV whose header may claim more data than it carries."""
    claimed = data_bytes if claimed_data_bytes is None else claimed_data_bytes
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", claimed) + b"\x80" * data_bytes
    return b"RIFF" + struct.pack("<I", min(len(body), 0xFFFFFFFF)) + body


def _upload(client, content: bytes):
    token = csrf_from(client.get("/clinic/audio").text)
    return client.post(
        "/clinic/audio",
        data={"csrf_token": token, "upload": (io.BytesIO(content), "track.wav")},
        content_type="multipart/form-data",
    )


def _stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AudioFile))


def test_a_wav_whose_header_lies_about_its_length_is_refused(app, client, auth, people):
    """144 bytes claiming 0xFFFFFFF0 one-byte samples at 1 Hz (136 years): 400, nothing kept."""
    auth.login("admin@demo.test")
    lying = wav(sample_rate=1, data_bytes=100, claimed_data_bytes=0xFFFFFFF0)
    assert len(lying) == 144
    response = _upload(client, lying)
    assert response.status_code == 400
    assert "more than it can hold" in response.text
    assert _stored(app) == 0


def test_an_honest_file_longer_than_the_longest_track_is_refused(app, client, auth, people):
    """A real WAV of 5 hours 33 minutes (20,000 samples at 1 Hz) passes the size check but not
    the four-hour limit on a track."""
    auth.login("admin@demo.test")
    response = _upload(client, wav(sample_rate=1, data_bytes=20_000))
    assert response.status_code == 400
    assert "Up to 4:00:00 per track." in response.text
    assert _stored(app) == 0


def test_an_honest_short_wav_is_accepted_with_its_real_length(app, client, auth, people):
    """Two seconds of 8 kHz audio are two seconds."""
    auth.login("admin@demo.test")
    response = _upload(client, wav(sample_rate=8000, data_bytes=16_000))
    assert response.status_code in (200, 302)
    with app.app_context():
        assert db.session.scalar(select(AudioFile.duration_seconds)) == 2.0
