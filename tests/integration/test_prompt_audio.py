"""The session's prompt track (chimes and words in the media) and the clinic's recordings."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import AudioFile, PromptFallback, TreatmentSession, User
from kap.models.base import utcnow
from kap.services.audio import prompt_track
from kap.services.audio.chime import chime
from kap.services.audio.samples import SAMPLE_RATE, rms
from kap.services.clinic.recordings import MAX_RECORDING_BYTES
from kap.services.clinic.templates import draft_from_version, save_template
from tests.audio_helpers import encoded, read_track, tone
from tests.helpers import ApiClient, demo_template
from tests.servers import ROOT, server_env

WALKTHROUGH = "Walkthrough (3 minutes)"


def _window(samples, start: float, seconds: float):
    first = round(start * SAMPLE_RATE)
    return samples[first : first + round(seconds * SAMPLE_RATE)]


def _admin() -> User:
    return db.session.scalar(select(User).where(User.email == "admin@demo.test"))


@pytest.fixture
def patient_api(app, people) -> ApiClient:
    return ApiClient.signed_in(app, "patient@demo.test")


@pytest.fixture
def admin_api(app, people) -> ApiClient:
    return ApiClient.signed_in(app, "admin@demo.test")


def test_session_data_names_the_prompt_track(patient_api, session_id):
    """The API's session carries where the track is, its key and length; the cues' times fit."""
    body = patient_api.get(f"/api/v1/sessions/{session_id}").json
    audio = body["prompt_audio"]
    assert audio["type"] == "audio/mp4"
    assert audio["url"] == f"/patient/sessions/{session_id}/prompts.m4a?v={audio['key']}"
    assert len(audio["key"]) == 16
    last_cue = max(cue["at_seconds"] for cue in body["cues"])
    assert audio["duration_seconds"] == last_cue + prompt_track.TAIL_SECONDS


def test_the_track_sounds_each_cue_at_its_time_and_is_silent_between(patient_api, session_id):
    """Served as AAC in MP4: at every cue a chime starts at its time and words follow within a
    second; before the first cue and between prompts there is nothing to hear."""
    body = patient_api.get(f"/api/v1/sessions/{session_id}").json
    response = patient_api.get(body["prompt_audio"]["url"])
    assert response.status_code == 200
    assert response.mimetype == "audio/mp4"
    assert "no-store" in response.headers["Cache-Control"]  # the phone keeps it in its store
    track = read_track(response.data)
    assert abs(track.size / SAMPLE_RATE - body["prompt_audio"]["duration_seconds"]) < 0.2
    cues = [cue["at_seconds"] for cue in body["cues"]]
    assert rms(_window(track, 0, cues[0] - 0.5)) < 0.001  # nothing before the first cue
    for at in cues:
        assert rms(_window(track, at - 0.5, 0.45)) < 0.001, at  # silent just before
        assert rms(_window(track, at, 0.5)) > 0.1, at  # the chime, at once
        after = prompt_track.VOICE_AFTER_CHIME
        words = _window(track, at + after, 0.4) - _window(_chime_track(track.size), after, 0.4)
        assert rms(words) > 0.05, at  # with the chime taken out, words remain


def _chime_track(size: int):
    """The chime alone at 0, padded to ``size`` (to take it out of a window and hear the rest)."""
    alone = np.zeros(size, dtype=np.float32)
    alone[: chime().size] = chime()
    return alone


def test_ranges_and_revalidation_let_a_phone_seek_and_keep_its_copy(patient_api, session_id):
    """Safari plays media only from servers that answer Range; an unchanged track is a 304."""
    url = patient_api.get(f"/api/v1/sessions/{session_id}").json["prompt_audio"]["url"]
    whole = patient_api.get(url)
    part = patient_api.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.data == whole.data[:100]
    again = patient_api.get(url, headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 304


def test_another_patient_cannot_fetch_the_track(app, people, session_id):
    """The URL answers only to the session's patient."""
    other = ApiClient.signed_in(app, "patient2@demo.test")
    assert other.get(f"/patient/sessions/{session_id}/prompts.m4a").status_code == 404


@pytest.mark.parametrize(
    ("container", "codec"),
    [("webm", "libopus"), ("mp4", "aac"), ("ogg", "libopus"), ("wav", "pcm_s16le")],
)
def test_a_recording_in_any_browser_format_is_kept_as_wav(admin_api, app, container, codec):
    """MediaRecorder's WebM/Opus (Chromium) or MP4/AAC (Safari), or an upload: kept as WAV,
    with the silence around the words cut."""
    voice = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), tone(2.0), np.zeros(SAMPLE_RATE)])
    data = encoded(voice.astype(np.float32), container, codec)
    response = admin_api.post(
        "/clinic/templates/recordings",
        data={"audio": (io.BytesIO(data), f"prompt.{container}")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert 2.0 <= response.json["duration_seconds"] <= 2.5
    assert admin_api.get(response.json["url"]).mimetype == "audio/wav"
    with app.app_context():
        stored = db.session.get(AudioFile, response.json["id"])
        assert stored.content_type == "audio/wav"
        assert stored.clinic_id == _admin().clinic_id


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (lambda: encoded(np.zeros(SAMPLE_RATE * 2, np.float32), "webm", "libopus"), 400, "hear"),
        (lambda: encoded(tone(61.0), "webm", "libopus"), 400, "longer than 60"),
        (lambda: b"not audio at all" * 100, 400, "not audio"),
        (lambda: b"\0" * (MAX_RECORDING_BYTES + 1), 413, "larger"),
        (lambda: b"", 400, "empty"),
    ],
    ids=["silent", "too-long", "junk", "too-large", "empty"],
)
def test_a_bad_recording_is_refused_with_a_reason(admin_api, data, status, words):
    """Silence, over a minute, not audio, too large, empty: a clear error in the API format."""
    response = admin_api.post(
        "/clinic/templates/recordings",
        data={"audio": (io.BytesIO(data()), "prompt.webm")},
        content_type="multipart/form-data",
    )
    assert response.status_code == status
    assert words in response.json["error"]["message"]
    assert response.json["error"]["fields"]["audio"]


def test_without_a_file_or_a_token_nothing_is_stored(admin_api, app):
    """No file: 400 in the API format. No CSRF token: refused before anything is read."""
    assert admin_api.post("/clinic/templates/recordings").status_code == 400
    bare = admin_api.client.post(
        "/clinic/templates/recordings",
        data={"audio": (io.BytesIO(encoded(tone(1.0), "webm", "libopus")), "a.webm")},
        content_type="multipart/form-data",
    )
    assert bare.status_code == 400
    with app.app_context():
        assert (
            db.session.scalar(select(AudioFile).where(AudioFile.content_type == "audio/wav"))
            is None
        )


def _record(admin_api, seconds: float = 1.5) -> int:
    response = admin_api.post(
        "/clinic/templates/recordings",
        data={"audio": (io.BytesIO(encoded(tone(seconds, 330.0), "webm", "libopus")), "a.webm")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_a_cue_with_the_clinics_recording_sounds_it_in_the_track(admin_api, app, people):
    """Saved with the template, the recording replaces the generated voice for that cue, the
    track's key changes, and a new version keeps the recording."""
    recording = _record(admin_api)
    with app.app_context():
        template = demo_template(WALKTHROUGH)
        before = prompt_track.plan_for(template.current_version)
        draft = draft_from_version(template, template.current_version)
        draft.cues[0].recording_id = recording
        save_template(_admin(), template, draft, template.revision)
        db.session.commit()
        version = demo_template(WALKTHROUGH).current_version
        assert version.cues[0].recording_id == recording
        plan = prompt_track.plan_for(version)
        assert plan.key != before.key
        track, sounds = prompt_track.render(plan)
        voice = next(s for s in sounds if s.kind == "voice" and s.cue_index == 0)
        assert 1.4 <= voice.end - voice.start <= 2.0  # the 1.5 s recording, edges trimmed
        middle = _window(track, voice.start + 1.0, 0.3)
        spectrum = np.abs(np.fft.rfft(middle))
        peak_hz = np.argmax(spectrum) * SAMPLE_RATE / middle.size
        assert abs(peak_hz - 330.0) < 10  # the recorded tone, not a synthetic voice


def test_a_recording_of_another_clinic_cannot_be_attached(app, people, admin_api):
    """The editor refuses an id that is not the clinic's own."""
    with app.app_context():
        other = demo_template("IV infusion (40 minutes of music)", clinic_of="admin@other.test")
        draft = draft_from_version(other, other.current_version)
        draft.cues[0].recording_id = _record(admin_api)  # a Demo Clinic recording
        other_admin = db.session.scalar(select(User).where(User.email == "admin@other.test"))
        with pytest.raises(Exception) as refused:
            save_template(other_admin, other, draft, other.revision)
        assert "cues-0-recording_id" in refused.value.fields


def test_chime_only_sounds_a_chime_for_every_cue_even_where_none_was_asked(app, people):
    """With the chime alone chosen, a cue without a chime still chimes: every prompt is heard;
    there are no words in the track."""
    with app.app_context():
        template = demo_template(WALKTHROUGH)
        draft = draft_from_version(template, template.current_version)
        draft.prompt_fallback = PromptFallback.CHIME_ONLY
        for cue in draft.cues:
            cue.chime = False
        save_template(_admin(), template, draft, template.revision)
        db.session.commit()
        plan = prompt_track.plan_for(demo_template(WALKTHROUGH).current_version)
        _, sounds = prompt_track.render(plan)
        assert [s.kind for s in sounds] == ["chime"] * len(plan.cues)
        assert [s.start for s in sounds] == [float(c.at_seconds) for c in plan.cues]


def test_the_job_makes_tracks_of_the_coming_sessions_once(app, people):
    """prepare_upcoming makes each coming session's track once; a second round makes none."""
    with app.app_context():
        now = utcnow()
        coming = db.session.scalars(
            select(TreatmentSession).where(
                TreatmentSession.scheduled_at.between(now, now + timedelta(days=2))
            )
        ).all()
        assert coming  # the demo books sessions today
        assert prompt_track.prepare_upcoming(now) >= 1
        assert prompt_track.prepare_upcoming(now) == 0


def test_a_recorded_prompt_stays_out_of_the_music(admin_api, app, people):
    """A recording is not offered as a track, not listed in the audio library, and a track
    pointed at one is refused: music and prompts do not mix up."""
    recording = _record(admin_api)
    editor = admin_api.get("/clinic/templates/new").text
    assert f'value="upload:{recording}"' not in editor
    assert "Recorded prompt" not in admin_api.get("/clinic/audio").text
    with app.app_context():
        template = demo_template(WALKTHROUGH)
        draft = draft_from_version(template, template.current_version)
        draft.tracks[0].kind = "upload"
        draft.tracks[0].audio_file_id = recording
        with pytest.raises(Exception) as refused:
            save_template(_admin(), template, draft, template.revision)
        assert "tracks-0-kind" in refused.value.fields


def test_an_app_process_loads_pyav_only_to_decode_or_encode(tmp_path):
    """Every gunicorn worker, the job worker and each command import the app; few ever touch
    audio. PyAV (about 20 MB and 60 ms a process) waits for the first encode or decode."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from wsgi import app\n"
        "assert 'av' not in sys.modules, 'importing the app loaded PyAV'\n"
        "from kap.services.audio.samples import decode, encode_wav, silence\n"
        "wav = Path(sys.argv[1])\n"
        "encode_wav(silence(0.5) + 0.25, wav)\n"
        "assert 'av' in sys.modules\n"
        "assert decode(wav, 5).size == 11025\n"
    )
    env = server_env(tmp_path, f"sqlite:///{tmp_path / 'kap.db'}")
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "half-second.wav")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
