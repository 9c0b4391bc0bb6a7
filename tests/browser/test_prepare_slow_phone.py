"""Preparation on a slow phone: a tick made while the page's script is still loading is saved
once it runs (a fresh CI machine found the tick shown as done but never sent), and what the
script fills in does not move the buttons under the patient's thumb (a loaded CI machine
tapped "Prepare for this session" just as the "Saving for offline use" line pushed it down)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import sign_in
from tests.browser.test_offline import PATIENT, wait_until, walkthrough_id

NO_FOOD = "No food for 6 hours before my session"


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args):
    """Without the service worker: it would answer the script from its cache, where
    page.route cannot hold it back."""
    return {**browser_context_args, "service_workers": "block"}


def _hold(page: Page, script: str) -> list:
    """Holds the page script `script` back (its route, once the page asks for it)."""
    held: list = []
    page.route(f"**/static/js/pages/{script}*", lambda route: held.append(route))
    return held


def _wait_for_request(page: Page, held: list, script: str) -> None:
    for _ in range(200):  # 10 s at most
        if held:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{script} was never requested")


def test_a_tick_made_before_the_script_runs_is_saved(page: Page):
    """The box is ticked while prepare.js is held back; once it runs, the tick is saved
    ("Saved."), and a reload shows it ticked by the server, not by the browser."""
    sign_in(page, PATIENT)
    session_id = walkthrough_id(page)
    held = _hold(page, "prepare.js")
    page.goto(f"/patient/sessions/{session_id}", wait_until="commit")
    _wait_for_request(page, held, "prepare.js")
    box = page.get_by_label(NO_FOOD)
    box.check()
    held[0].continue_()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.unroute("**/static/js/pages/prepare.js*")
    ticks = page.request.get(f"/api/v1/sessions/{session_id}").json()["checklist"]
    assert next(item["checked"] for item in ticks if item["text"] == NO_FOOD)
    page.goto(f"/patient/sessions/{session_id}")  # a new page: the server's own state
    expect(page.get_by_label(NO_FOOD)).to_be_checked()
    expect(page.get_by_text("1 of 4 done")).to_be_visible()


#: Records, at every change of the readiness line's state, where the tap target and the line
#: are (a MutationObserver, so a state that lasts a millisecond is seen too).
WATCH = """(tap) => {
    const line = document.querySelector('[data-offline-ready]');
    window.seenStates = [];
    new MutationObserver(() => window.seenStates.push({
        state: line.dataset.state,
        text: line.textContent,
        tap: tap.getBoundingClientRect().y,
        line: line.getBoundingClientRect().height,
    })).observe(line, { attributes: true, attributeFilter: ['data-state'] });
    return { tap: tap.getBoundingClientRect().y, line: line.getBoundingClientRect().height };
}"""


@pytest.mark.parametrize(
    ("script", "path", "target"),
    [
        ("home.js", "/patient/", ("link", "Prepare for this session")),
        ("prepare.js", "/patient/sessions/{id}", ("checkbox", NO_FOOD)),
    ],
    ids=["home", "prepare"],
)
def test_the_session_day_pages_hold_still_while_their_script_runs(
    page: Page, script: str, path: str, target: tuple[str, str]
):
    """On a 320 px phone, the first thing to tap is where it was before the script ran, once
    the script says it is saving the session for offline use. (Without a service worker the
    saving then fails, and the reason may take more room; test_offline checks that the way
    to "Ready offline" holds still too.)"""
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(page, PATIENT)
    held = _hold(page, script)
    page.goto(path.format(id=walkthrough_id(page)), wait_until="commit")
    _wait_for_request(page, held, script)
    role, name = target
    tap = page.get_by_role(role, name=name).element_handle()  # type: ignore[arg-type]
    before = page.evaluate(WATCH, tap)
    assert before["line"] > 0, "the line was not laid out before the script ran"
    held[0].continue_()
    # Up to the last thing it stores, the spoken prompts (without a service worker it then
    # waits 15 s for one before it says it failed: nothing more to see). Storing the music
    # first takes 2 s on a quiet machine and took over 20 s once beside the rest of the suite:
    # the same 60 s test_offline allows the same work.
    wait_until(
        page,
        "window.seenStates.some((seen) => seen.state !== 'pending' "
        "|| seen.text.includes('spoken prompts'))",
        seconds=60,
    )
    pending = [seen for seen in page.evaluate("window.seenStates") if seen["state"] == "pending"]
    assert pending, "never said it was saving for offline use"
    for seen in pending:
        assert abs(seen["tap"] - before["tap"]) < 1, f"moved while saving: {seen} vs {before}"
        assert abs(seen["line"] - before["line"]) < 1, f"the line grew: {seen} vs {before}"
    page.unroute(f"**/static/js/pages/{script}*")
