"""Session mode on a phone, on Playwright's clock: prompts, downtime, integration, Call staff."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from kap.demo.content import WALKTHROUGH
from tests.browser.helpers import screenshot, sign_in

PATIENT = "patient@demo.test"
FIRST_PROMPT = "Put on your eye mask and let your breath slow."
SECOND_PROMPT = "Notice the music changing, and let it carry you."
PLAYLIST_SECONDS = 112  # two 60 s tracks with an 8 s cross-fade
PLAYLIST_MS = PLAYLIST_SECONDS * 1000
DOWNTIME_SECONDS = 60


@pytest.fixture
def walkthrough_id(live_server) -> int:
    """A fresh Walkthrough session of patient@demo.test, booked for now, so these tests never
    depend on (or use up) today's demo session that other tests walk through."""
    return live_server.book_session_now("patient@demo.test", WALKTHROUGH, "")


def start_session(page: Page, session_id: int) -> None:
    """Tick the required items on the preparation page and press Start session."""
    detail = page.request.get(f"/api/v1/sessions/{session_id}").json()
    page.goto(f"/patient/sessions/{session_id}")
    for item in detail["checklist"]:
        if item["required"]:
            page.get_by_label(item["text"], exact=True).check()
    page.get_by_role("button", name="Start session").click()
    expect(page).to_have_url(f"/patient/sessions/{session_id}/mode")


def wait_until(page: Page, expression: str, timeout_ms: int = 10_000) -> None:
    """Poll a page expression until it is true.

    page.wait_for_function compiles its predicate in the page with `new Function`, which the
    app's Content-Security-Policy (no unsafe-eval) rightly blocks; evaluate() is allowed.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def begin_music(page: Page) -> None:
    """Wait until the player knows whether it may play; tap the begin button if it was refused."""
    wait_until(page, "document.getElementById('sm').dataset.audio !== 'pending'", 30_000)
    begin = page.get_by_role("button", name="Tap to begin the music")
    if begin.is_visible():
        begin.click()
        expect(begin).to_be_hidden()


def calm_screenshot(page: Page, name: str) -> None:
    """A screenshot once fades have finished (CSS runs on real time, not on the page clock)."""
    wait_until(page, "document.getAnimations().every((a) => a.playState !== 'running')")
    screenshot(page, name)


def session_json(page: Page, session_id: int) -> dict:
    """The session as the API returns it."""
    response = page.request.get(f"/api/v1/sessions/{session_id}")
    assert response.ok
    return response.json()


def advance_to(page: Page, started_ms: float, seconds: float) -> None:
    """Fast-forward the page's clock to `seconds` after the session started."""
    now = page.evaluate("Date.now()")
    page.clock.fast_forward(max(0, int(started_ms + seconds * 1000 - now)))


def wait_for_status(page: Page, session_id: int, status: str) -> dict:
    """Poll the API until the session reaches `status` (the page posts it in the background)."""
    deadline = time.monotonic() + 10
    while True:
        data = session_json(page, session_id)
        if data["status"] == status or time.monotonic() > deadline:
            assert data["status"] == status
            return data
        time.sleep(0.2)


def millis(iso: str) -> float:
    """Milliseconds since the epoch of an ISO 8601 time."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def test_walkthrough_plays_prompts_then_downtime_then_integration(page: Page, walkthrough_id):
    """Start, first prompt, a reload resumes mid-track, downtime after the music, integration."""
    page.clock.install()
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    started_ms = millis(session_json(page, walkthrough_id)["started_at"])
    begin_music(page)
    expect(page.get_by_text("Settling")).to_be_visible()

    advance_to(page, started_ms, 6)
    prompt = page.locator("#sm-prompt")
    expect(prompt).to_have_text(FIRST_PROMPT)
    calm_screenshot(page, "session-mode-prompt-phone")

    # Reload in the second track: the same phase, track and prompt, not a fresh start.
    advance_to(page, started_ms, 58)
    expect(page.get_by_text("Opening")).to_be_visible()
    page.reload()
    begin_music(page)
    expect(page.locator("#sm")).to_have_attribute("data-phase", "session")
    expect(page.get_by_text("Opening")).to_be_visible()
    expect(prompt).to_have_text(FIRST_PROMPT)
    assert int(page.locator("#sm-progress").get_attribute("value") or 0) > 450
    assert session_json(page, walkthrough_id)["status"] == "session"

    advance_to(page, started_ms, 71)
    expect(prompt).to_have_text(SECOND_PROMPT)

    advance_to(page, started_ms, PLAYLIST_SECONDS + 1)
    expect(page.get_by_role("timer")).to_be_visible()
    expect(page.get_by_role("timer")).to_contain_text("0:")
    expect(prompt).to_be_hidden()
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    downtime = wait_for_status(page, walkthrough_id, "downtime")
    assert abs(millis(downtime["downtime_started_at"]) - started_ms - PLAYLIST_MS) < 1500
    calm_screenshot(page, "session-mode-downtime-phone")

    advance_to(page, started_ms, PLAYLIST_SECONDS + DOWNTIME_SECONDS + 1)
    journal = page.get_by_role("link", name="Open your integration journal")
    expect(journal).to_be_visible()
    expect(journal).to_have_attribute("href", f"/patient/sessions/{walkthrough_id}/integration")
    after = wait_for_status(page, walkthrough_id, "integration")
    assert after["downtime_started_at"] == downtime["downtime_started_at"]
    integration_ms = millis(after["integration_started_at"])
    assert abs(integration_ms - started_ms - (PLAYLIST_SECONDS + DOWNTIME_SECONDS) * 1000) < 1500
    expect(page.get_by_role("link", name="Crisis support")).to_be_visible()
    calm_screenshot(page, "session-mode-integration-phone")


# What iOS and a strict autoplay policy do: media may not start until this document is tapped.
REFUSE_PLAY_UNTIL_TAPPED = """
let tapped = false;
addEventListener('pointerdown', () => (tapped = true), true);
addEventListener('keydown', () => (tapped = true), true);
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  if (tapped) return play.call(this);
  return Promise.reject(new DOMException('play() needs a user gesture', 'NotAllowedError'));
};
"""


def test_refused_autoplay_shows_one_big_begin_button(page: Page, walkthrough_id):
    """When the browser will not play without a tap, one tap on the big button starts the music."""
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    page.add_init_script(REFUSE_PLAY_UNTIL_TAPPED)
    page.reload()  # a fresh document, not yet tapped
    begin = page.get_by_role("button", name="Tap to begin the music")
    expect(begin).to_be_visible(timeout=30_000)
    expect(page.locator("#sm")).to_have_attribute("data-audio", "blocked")
    begin.click()
    expect(begin).to_be_hidden()
    expect(page.locator("#sm")).to_have_attribute("data-audio", "playing")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()


def test_call_staff_confirms_then_raises_an_alert_the_therapist_sees(
    page: Page, browser, browser_context_args, walkthrough_id
):
    """Call staff asks once more, posts (201), says it was sent; the therapist sees the alert."""
    page.clock.install()
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    begin_music(page)
    expect(page.get_by_role("link", name="Crisis support")).to_be_visible()

    page.get_by_role("button", name="Call staff").click()
    with page.expect_response(lambda r: r.url.endswith("/call-staff")) as answer:
        page.get_by_role("button", name="Yes, call staff now").click()
    assert answer.value.status == 201
    expect(page.get_by_role("status")).to_have_text("Sent — waiting for staff")

    therapist = browser.new_context(**browser_context_args)
    try:
        signed_in = therapist.request.post(
            "/api/v1/session", data={"email": "therapist@demo.test", "password": "demo-password"}
        )
        assert signed_in.ok
        alerts = therapist.request.get("/api/v1/alerts").json()["alerts"]
    finally:
        therapist.close()
    assert any(a["kind"] == "call_staff" and a["session_id"] == walkthrough_id for a in alerts), (
        alerts
    )


def test_session_mode_fits_a_small_phone_without_scrolling(page: Page, walkthrough_id):
    """At 320 by 568 px every control is on one screen, with targets at least 56 px tall."""
    page.set_viewport_size({"width": 320, "height": 568})
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    begin_music(page)
    sizes = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert sizes[0] <= 320 and sizes[1] <= 568, sizes
    for name in ("Pause", "Call staff"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box and box["height"] >= 56, (name, box)
    expect(page.get_by_label("Volume")).to_be_visible()


def test_pause_holds_the_session_across_a_reload(page: Page, walkthrough_id):
    """Paused, session time stands still (no prompt, same place) even across a reload."""
    page.clock.install()
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    begin_music(page)
    page.get_by_role("button", name="Pause").click()
    resume = page.get_by_role("button", name="Resume")
    expect(resume).to_be_visible()
    progress = page.locator("#sm-progress").get_attribute("value")

    page.clock.fast_forward(30_000)
    page.reload()
    expect(resume).to_be_visible()
    expect(page.locator("#sm-prompt")).to_have_text("")
    expect(page.get_by_text("Settling")).to_be_visible()
    assert page.locator("#sm-progress").get_attribute("value") == progress

    resume.click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.clock.fast_forward(6_000)
    expect(page.locator("#sm-prompt")).to_have_text(FIRST_PROMPT)


def test_a_failed_phase_post_is_retried_with_the_time_it_happened(page: Page, walkthrough_id):
    """Offline as the music ends: downtime shows at once, is recorded later with the device time."""
    page.clock.install()
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    started_ms = millis(session_json(page, walkthrough_id)["started_at"])
    begin_music(page)
    failures = []

    def offline_once(route):
        if failures:
            route.continue_()
        else:
            failures.append(route.request.post_data_json)
            route.abort("internetdisconnected")

    page.route("**/api/v1/sessions/*/phase", offline_once)
    advance_to(page, started_ms, PLAYLIST_SECONDS + 1)
    expect(page.get_by_role("timer")).to_be_visible()
    wait_until(page, "document.getElementById('sm').dataset.phase === 'downtime'")
    deadline = time.monotonic() + 10
    while not failures and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert failures and failures[0]["phase"] == "downtime"
    assert session_json(page, walkthrough_id)["status"] == "session"

    page.clock.fast_forward(3_000)  # past the first back-off
    recorded = wait_for_status(page, walkthrough_id, "downtime")
    assert recorded["downtime_started_at"] is not None
    assert abs(millis(recorded["downtime_started_at"]) - started_ms - PLAYLIST_MS) < 1500


def test_without_javascript_the_forms_move_the_phases_and_call_staff(
    page: Page, browser, browser_context_args, walkthrough_id
):
    """With scripting off: an explanation, Call staff, and buttons to downtime and integration."""
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    no_js = browser.new_context(**browser_context_args, java_script_enabled=False)
    try:
        plain = no_js.new_page()
        sign_in(plain, PATIENT)
        plain.goto(f"/patient/sessions/{walkthrough_id}/mode")
        expect(plain.get_by_role("heading", name="Music needs JavaScript")).to_be_visible()
        expect(plain.get_by_role("link", name="Crisis support")).to_be_visible()
        expect(plain.get_by_role("button", name="Pause")).to_be_hidden()

        plain.get_by_role("button", name="Call staff now").click()
        expect(plain.get_by_role("status")).to_have_text("Sent — waiting for staff")
        expect(plain.get_by_text("on the way")).to_have_count(0)
        plain.get_by_role("button", name="The music is over: start downtime").click()
        plain.get_by_role("button", name="Downtime is over: open my journal").click()
        expect(plain).to_have_url(f"/patient/sessions/{walkthrough_id}/integration")
    finally:
        no_js.close()
    assert session_json(page, walkthrough_id)["status"] == "integration"


# ---- The prompt track: the server's own (kap/services/audio/prompt_track.py), AAC in MP4.


def serve_prompt_track(page: Page, session_id: int) -> dict:
    """The session's `prompt_audio` as the server names it (the track is the real one)."""
    info = session_json(page, session_id)["prompt_audio"]
    assert info and info["type"] == "audio/mp4", info
    return info


PROMPT_PLAYING = """(() => {
  const el = document.querySelector('audio[data-kap-audio="prompts"]');
  return Boolean(el && !el.paused && el.currentTime > 0);
})()"""
MUSIC_PLAYING = (
    """[...document.querySelectorAll('audio[data-kap-audio="music"]')].some((el) => !el.paused)"""
)
# Counts what speechSynthesis is asked to say (the prompt track replaces it).
COUNT_SPEECH = """
window.kapSpoken = [];
if (window.speechSynthesis) {
  const speak = speechSynthesis.speak.bind(speechSynthesis);
  speechSynthesis.speak = (u) => { if (u.text) window.kapSpoken.push(u.text); return speak(u); };
}
"""


def test_start_session_starts_music_and_prompt_track_in_the_same_tap(page: Page, walkthrough_id):
    """Where a document may not play until it is tapped, the Start session tap is enough: session
    mode opens in the same document, the prompt track and the music play, no second tap; the
    prompts come from the track (no speechSynthesis), their words still on screen."""
    page.add_init_script(REFUSE_PLAY_UNTIL_TAPPED)
    page.add_init_script(COUNT_SPEECH)
    page.clock.install()
    sign_in(page, PATIENT)
    serve_prompt_track(page, walkthrough_id)
    start_session(page, walkthrough_id)
    started_ms = millis(session_json(page, walkthrough_id)["started_at"])

    wait_until(page, PROMPT_PLAYING, 30_000)
    wait_until(page, MUSIC_PLAYING, 30_000)
    expect(page.locator("#sm")).to_have_attribute("data-audio", "playing")
    expect(page.get_by_role("button", name="Tap to begin the music")).to_be_hidden()
    expect(page.get_by_role("heading", name="Prepare for your session")).to_have_count(0)

    # The lock screen shows the session: set on start, and set again on every `playing`.
    metadata = page.evaluate(
        """(() => { const m = navigator.mediaSession.metadata;
          return m && {title: m.title, artist: m.artist, album: m.album,
                       artwork: m.artwork.map((a) => a.sizes)}; })()"""
    )
    assert metadata == {
        "title": "Settling",
        "artist": "KAP Companion",
        "album": session_json(page, walkthrough_id)["template_name"],
        "artwork": ["192x192", "512x512"],
    }, metadata
    page.evaluate("navigator.mediaSession.metadata = null")
    page.evaluate(
        "document.querySelector('audio[data-kap-audio=\"prompts\"]')"
        ".dispatchEvent(new Event('playing'))"
    )
    assert page.evaluate("navigator.mediaSession.metadata?.title") == "Settling"

    advance_to(page, started_ms, 6)
    expect(page.locator("#sm-prompt")).to_have_text(FIRST_PROMPT)
    wait_until(page, PROMPT_PLAYING)
    position = page.evaluate(
        "document.querySelector('audio[data-kap-audio=\"prompts\"]').currentTime"
    )
    assert abs(position - 6) < 1.5, position  # on the session clock
    assert page.evaluate("window.kapSpoken") == []
    expect(page.locator("#sm-note")).to_be_hidden()


def test_a_prompt_track_that_fails_falls_back_to_the_phones_voice(page: Page, walkthrough_id):
    """A track the phone cannot play: the cue is spoken by speechSynthesis; a quiet note says so."""
    page.clock.install()
    sign_in(page, PATIENT)
    serve_prompt_track(page, walkthrough_id)
    page.context.route(
        re.compile(rf"/patient/sessions/{walkthrough_id}/prompts\.m4a"),
        lambda route: route.fulfill(status=200, body=b"not audio"),
    )
    page.add_init_script(COUNT_SPEECH)
    start_session(page, walkthrough_id)
    started_ms = millis(session_json(page, walkthrough_id)["started_at"])
    begin_music(page)
    expect(page.locator("#sm-note")).to_contain_text("this phone reads them", timeout=15_000)
    advance_to(page, started_ms, 6)
    expect(page.locator("#sm-prompt")).to_have_text(FIRST_PROMPT)


def test_i_need_to_stop_pauses_and_offers_help_without_ending(page: Page, walkthrough_id):
    """I need to stop: music and clock pause; Call staff now, Crisis support, Resume; the
    session is not ended (that is the clinician's decision)."""
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    begin_music(page)
    wait_until(page, MUSIC_PLAYING, 30_000)
    page.get_by_role("button", name="I need to stop").click()

    panel = page.get_by_role("region", name="The music is paused")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("link", name="Crisis support")).to_be_visible()
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    assert not page.evaluate(MUSIC_PLAYING)
    played = page.locator("#sm-elapsed").text_content()
    page.wait_for_timeout(2500)
    assert page.locator("#sm-elapsed").text_content() == played  # the clock stands still
    calm_screenshot(page, "session-mode-stop-phone")

    with page.expect_response(lambda r: r.url.endswith("/call-staff")) as answer:
        panel.get_by_role("button", name="Call staff now").click()
    assert answer.value.status == 201
    expect(page.locator("#sm-staff-status")).to_have_text("Sent — waiting for staff")
    assert session_json(page, walkthrough_id)["status"] == "session"

    panel.get_by_role("button", name="Resume the music").click()
    expect(panel).to_be_hidden()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    wait_until(page, MUSIC_PLAYING)


def test_session_mode_opens_with_the_intention_at_320_px_dark(page: Page, walkthrough_id):
    """The intention is shown calmly when session mode starts, with the time played and left."""
    page.set_viewport_size({"width": 320, "height": 640})
    page.emulate_media(color_scheme="dark")
    sign_in(page, PATIENT)
    page.goto(f"/patient/sessions/{walkthrough_id}")
    intention = "To meet whatever comes with curiosity, and to rest when I need to."
    page.get_by_role("textbox", name="Your intention").fill(intention)
    page.get_by_role("button", name="Save intention").click()
    expect(page.locator("[data-intention-status]")).to_contain_text("saved", timeout=10_000)
    start_session(page, walkthrough_id)
    begin_music(page)
    shown = page.locator("#sm-intention-text")
    expect(shown).to_have_text(intention)
    expect(shown).to_have_attribute("dir", "auto")
    expect(page.locator("#sm-remaining")).to_have_text(re.compile(r"^1:5\d$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    calm_screenshot(page, "session-mode-intention-320-dark")


def test_after_the_session_integration_and_journal_stay_dim(page: Page, walkthrough_id):
    """On the session's day, once the music is over, the integration page and the journal keep
    the dim session palette; other pages (home) do not."""
    page.set_viewport_size({"width": 320, "height": 640})
    page.emulate_media(color_scheme="dark")
    page.clock.install()
    sign_in(page, PATIENT)
    start_session(page, walkthrough_id)
    started_ms = millis(session_json(page, walkthrough_id)["started_at"])
    begin_music(page)
    advance_to(page, started_ms, PLAYLIST_SECONDS + DOWNTIME_SECONDS + 1)
    wait_for_status(page, walkthrough_id, "integration")
    page.get_by_role("link", name="Open your integration journal").click()
    expect(page).to_have_url(f"/patient/sessions/{walkthrough_id}/integration")
    html = page.locator("html")
    expect(html).to_have_class("session-dim")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(11, 10, 9)"
    calm_screenshot(page, "session-integration-dim-320-dark")
    page.goto("/patient/journal")
    expect(html).to_have_class("session-dim")
    page.goto("/patient/")
    expect(html).not_to_have_class("session-dim")
