"""A clinic admin on a tablet builds a template and schedules a course with it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import axe_violations, screenshot, sign_in

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "tone.mp3"


@pytest.fixture
def tablet(browser, playwright, base_url):
    """A Galaxy Tab S4 (712 px wide, touch) page."""
    context = browser.new_context(**playwright.devices["Galaxy Tab S4"], base_url=base_url)
    yield context.new_page()
    context.close()


def _next_monday() -> date:
    today = date.today()
    return today + timedelta(days=(7 - today.weekday()) or 7)


def _remove_rows(page: Page, noun: str, keep: int) -> None:
    while page.get_by_role("button", name=f"Remove {noun} {keep + 1}").count():
        page.get_by_role("button", name=f"Remove {noun} {keep + 1}").click()


def test_admin_builds_a_template_and_schedules_a_course(tablet: Page):
    """Two tracks (a soundscape and an upload), two prompts, saved; then a six-session course."""
    page = tablet
    sign_in(page, "admin@demo.test")
    expect(page).to_have_url("/clinic/")
    page.get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="New template").click()

    page.get_by_label("Name", exact=True).fill("Evening IV")
    _remove_rows(page, "track", keep=1)
    page.get_by_label("Track 1 title").fill("Breathing room")
    page.get_by_label("Length (m:ss)").fill("5:00")
    page.get_by_label("Or upload an audio file to add it").set_input_files(str(AUDIO))
    page.get_by_role("button", name="Upload and add track").click()
    expect(page.get_by_label("Track 2 title")).to_have_value("Tone")
    expect(page.get_by_label("Track 1 title")).to_have_value("Breathing room")  # kept

    _remove_rows(page, "prompt", keep=2)
    page.get_by_label("Prompt 1 at (m:ss)").fill("0:10")
    page.get_by_label("Prompt 1 text").fill("Eye mask on. Let the music hold you.")
    page.get_by_label("Prompt 2 at (m:ss)").fill("9:00")  # after the playlist: refused
    page.get_by_label("Prompt 2 text").fill("Notice your breath.")
    page.get_by_role("button", name="Save template").last.click()
    expect(page.locator("#cues-1-at-error")).to_contain_text("after the playlist ends (5:01)")
    expect(page.get_by_label("Prompt 2 text")).to_have_value("Notice your breath.")

    page.get_by_label("Prompt 2 at (m:ss)").fill("4:00")
    page.get_by_role("button", name="Save template").last.click()
    expect(page.get_by_text("Template “Evening IV” created.")).to_be_visible()
    expect(page.get_by_label("Track 2 title")).to_have_value("Tone")
    expect(page.get_by_label("Prompt 2 at (m:ss)")).to_have_value("4:00")
    page.locator("#cues").scroll_into_view_if_needed()
    screenshot(page, "clinic-template-editor-tablet", full_page=False)

    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Robin Lee").click()
    page.get_by_label("Template").first.select_option(label="Evening IV")
    page.get_by_label("Six sessions over three weeks").check()
    page.get_by_label("First date").fill(_next_monday().isoformat())
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").check()
    page.get_by_label("Time of day").fill("15:00")  # Robin's demo sessions are at 10:00
    page.get_by_role("button", name="Schedule course").click()
    expect(page.get_by_text("Scheduled 6 sessions")).to_be_visible()
    sessions = page.locator("#sessions .session-list__item", has_text="Evening IV")
    expect(sessions).to_have_count(6)
    expect(sessions.first).to_contain_text("15:00")
    page.locator("#sessions").scroll_into_view_if_needed()
    screenshot(page, "clinic-schedule-course-tablet", full_page=False)


# --- the admin's pages, enhanced (issue 17, item 9) ------------------------------------------


#: Instead of a microphone: a quiet 440 Hz tone as the stream MediaRecorder records.
FAKE_MICROPHONE = """
navigator.mediaDevices.getUserMedia = async () => {
  const context = new AudioContext();
  const tone = context.createOscillator();
  const out = context.createMediaStreamDestination();
  tone.connect(out);
  tone.start();
  return out.stream;
};
"""


@pytest.fixture
def admin_tablet(browser, base_url):
    """A 1024 x 768 touch tablet that may use the clipboard."""
    context = browser.new_context(
        viewport={"width": 1024, "height": 768},
        has_touch=True,
        base_url=base_url,
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.add_init_script(FAKE_MICROPHONE)
    yield context.new_page()
    context.close()


def test_editor_rows_move_in_place_and_errors_are_summed_up(admin_tablet: Page):
    """Add, move and remove change the page in place (no reload, the focus on the row); a
    refused save starts with a focused summary whose links go to the fields."""
    page = admin_tablet
    sign_in(page, "admin@demo.test")
    page.goto("/clinic/templates/new")
    page.evaluate("window.stayed = true")
    prompts = page.locator('ol[data-list="cues"] > li').count()

    page.get_by_role("button", name="Add eye-mask prompt").click()
    expect(page.get_by_label(f"Prompt {prompts + 1} at (m:ss)")).to_be_focused()
    page.get_by_label(f"Prompt {prompts + 1} at (m:ss)").fill("0:20")
    page.get_by_label(f"Prompt {prompts + 1} text").fill("Come back to the breath.")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0

    page.get_by_role("button", name=f"Move prompt {prompts + 1} up").click()
    expect(page.get_by_label(f"Prompt {prompts} text")).to_have_value("Come back to the breath.")
    expect(page.get_by_role("button", name=f"Move prompt {prompts} up")).to_be_focused()
    assert abs(page.evaluate("window.scrollY") - scrolled) < 400  # stayed where the admin was

    page.get_by_role("button", name="Remove prompt 1", exact=True).click()
    expect(page.locator('ol[data-list="cues"] > li')).to_have_count(prompts)
    expect(page.locator("#cues-0-at")).to_be_focused()
    expect(page.get_by_label(f"Prompt {prompts - 1} text")).to_have_value(
        "Come back to the breath."
    )
    assert page.evaluate("window.stayed") is True  # never reloaded

    page.get_by_label("Name", exact=True).fill("")
    page.get_by_label("Prompt 1 at (m:ss)").fill("99:00")
    page.get_by_role("button", name="Save template").last.click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(2)
    expect(page.get_by_label(f"Prompt {prompts - 1} text")).to_have_value(
        "Come back to the breath."
    )
    screenshot(page, "clinic-template-errors-tablet", full_page=False)
    assert axe_violations(page) == []
    summary.get_by_role(
        "link", name="Prompt 1 time: This prompt comes after the playlist ends"
    ).click()
    expect(page.locator("#cues-0-at")).to_be_focused()
    summary.get_by_role("link", name="Name: Give the template a name.").click()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()


def test_no_script_row_buttons_come_back_at_the_row(admin_tablet: Page):
    """Without JavaScript, Move up posts the form and the page opens at the moved row."""
    page = admin_tablet
    sign_in(page, "admin@demo.test")
    page.route("**/js/pages/template-editor.js", lambda route: route.abort())
    page.goto("/clinic/templates/new")
    page.get_by_label("Prompt 2 text").fill("Moved by the server")
    page.get_by_role("button", name="Move prompt 2 up").click()
    expect(page).to_have_url("/clinic/templates/new#cues-row-0")
    expect(page.get_by_label("Prompt 1 text")).to_have_value("Moved by the server")
    assert page.evaluate("document.querySelector('#cues-row-0').getBoundingClientRect().top") < 768


def test_prompts_are_recorded_or_uploaded_and_soundscapes_previewed(admin_tablet: Page):
    """Record, Stop: the recording is posted to the real endpoint (which decodes what this
    browser's MediaRecorder made) and its id kept for the prompt; an uploaded file does the
    same; a soundscape plays a 15-second preview."""
    page = admin_tablet
    posted: list[str] = []
    page.on(
        "request",
        lambda request: (
            request.url.endswith("/clinic/templates/recordings")
            and posted.append(request.headers.get("content-type", ""))
        ),
    )
    sign_in(page, "admin@demo.test")
    page.goto("/clinic/templates/new")
    page.get_by_label("A prompt without a recording of your own voice").select_option("chime_only")
    expect(page.locator("#cues-row-0 [data-recording-state]")).to_contain_text("The chime alone")

    page.get_by_role("button", name="Record prompt 1").click()
    stop = page.get_by_role("button", name="Stop recording prompt 1")
    expect(stop).to_be_focused()
    expect(page.locator("#cues-row-0 [data-elapsed]")).to_have_text("0:01", timeout=5000)
    stop.click()
    expect(page.locator("#cues-row-0 [data-recording-state]")).to_have_text(
        re.compile(r"^Recorded \(0:0\d\)$")
    )
    expect(page.locator("#cues-0-recording_id")).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_role("button", name="Re-record prompt 1")).to_be_visible()
    expect(page.get_by_role("button", name="Play back prompt 1")).to_be_visible()
    assert posted[0].startswith("multipart/form-data")

    page.get_by_label("Or upload a recording for prompt 2").set_input_files(str(AUDIO))
    expect(page.locator("#cues-1-recording_id")).to_have_value(re.compile(r"^\d+$"))
    page.get_by_role("button", name="Remove the recording of prompt 2").click()
    expect(page.locator("#cues-1-recording_id")).to_have_value("")
    expect(page.locator("#cues-row-1 [data-recording-state]")).to_contain_text("No recording")

    page.get_by_role("button", name="Preview track 1", exact=True).click()
    expect(page.locator("#tracks-row-0 [data-preview-status]")).to_have_text(
        "Playing 15 seconds.", timeout=30_000
    )
    page.locator("#cues").scroll_into_view_if_needed()
    assert axe_violations(page) == []


def test_course_form_shows_its_patterns_fields_and_previews_dates(admin_tablet: Page):
    """Only the chosen pattern's fields show; Preview dates lists six sessions, books none."""
    page = admin_tablet
    sign_in(page, "admin@demo.test")
    page.goto("/clinic/people?show=patients")
    page.get_by_role("link", name="Robin Lee").click()
    booked = page.locator("#sessions .session-list__item").count()
    expect(page.get_by_label("First date")).to_be_visible()
    expect(page.get_by_label("Custom dates, one per line (e.g. 2026-12-01 10:00)")).to_be_hidden()
    page.get_by_label("Custom dates", exact=True).check()
    expect(page.get_by_label("First date")).to_be_hidden()
    expect(page.get_by_label("Custom dates, one per line (e.g. 2026-12-01 10:00)")).to_be_visible()
    page.get_by_label("Six sessions over three weeks").check()
    page.get_by_label("First date").fill(_next_monday().isoformat())
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").check()
    page.get_by_label("Time of day").fill("15:00")
    page.get_by_role("button", name="Preview dates").click()
    preview = page.locator("#date-preview")
    expect(preview).to_be_focused()
    expect(preview).to_contain_text("6 sessions would be booked")
    expect(preview.locator("li")).to_have_count(6)
    expect(page.locator("#sessions .session-list__item")).to_have_count(booked)
    expect(page.get_by_label("Time of day")).to_have_value("15:00")
    screenshot(page, "clinic-course-preview-tablet", full_page=False)
    assert axe_violations(page) == []


def test_invitation_sets_the_care_team_and_the_link_copies(admin_tablet: Page):
    """The invite form takes the care team for a patient; Copy link puts the link on the
    clipboard; Deactivate is last and asks first."""
    page = admin_tablet
    sign_in(page, "admin@demo.test")
    page.goto("/clinic/people/new")
    team = page.get_by_role("group", name="Care team: therapists who will see this patient")
    expect(team).to_be_visible()
    page.get_by_label("Therapist", exact=True).check()
    expect(team).to_be_hidden()
    page.get_by_label("Patient", exact=True).check()
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@demo.test")
    page.get_by_label("Dr. Tess Rivera").check()
    page.get_by_role("button", name="Add and create invitation").click()
    expect(page.get_by_text("Care team: Dr. Tess Rivera.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Dr. Tess Rivera")).to_be_checked()
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    link = page.locator("#invite-link").inner_text()
    assert "/invite/" in link
    assert page.evaluate("navigator.clipboard.readText()") == link
    screenshot(page, "clinic-invite-tablet", full_page=False)
    assert axe_violations(page) == []

    confirm = page.get_by_role("button", name="Yes, deactivate Grace Hopper")
    expect(confirm).to_be_hidden()
    page.get_by_text("Deactivate Grace Hopper…").click()
    confirm.click()
    expect(page.get_by_text("Grace Hopper is deactivated")).to_be_visible()
