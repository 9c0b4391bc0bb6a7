"""Offline-first on a phone: session mode without signal, an outbox that loses nothing, drafts,
sign-out that leaves nothing behind, updates, installability (issue 6)."""

from __future__ import annotations

import re
import tempfile
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, layout_shifts, screenshot, sign_in
from tests.browser.test_session_mode import PROMPT_PLAYING, serve_prompt_track

PATIENT = "patient@demo.test"
PATIENT2 = "patient2@demo.test"
FIRST_PROMPT = "Put on your eye mask and let your breath slow."
PLAYLIST_SECONDS = 112  # two 60 s soundscapes with an 8 s cross-fade
SAVED = "Saved on this phone — will sync"
SYNCED = "Synced"
REQUIRED = (
    "No food for 6 hours before my session",
    "No alcohol in the last 24 hours",
    "A ride home is arranged",
)


def walkthrough_id(page: Page) -> int:
    """Today's demo Walkthrough session of the signed-in patient."""
    sessions = page.request.get("/api/v1/sessions").json()["sessions"]
    return next(s["id"] for s in sessions if s["template_name"] == "Walkthrough (3 minutes)")


def wait_until(page: Page, expression: str, seconds: float = 20) -> None:
    """Poll `expression` in the page (wait_for_function evals strings; the CSP forbids that)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(f"async () => Boolean(await ({expression}))"):
        assert time.monotonic() < deadline, f"still false after {seconds}s: {expression}"
        time.sleep(0.1)


ACTIVATED = (
    "navigator.serviceWorker.getRegistration().then((r) => r?.active?.state === 'activated')"
)


def controlled(page: Page) -> None:
    """Wait until the service worker is active and controls the page (installing it
    precaches the app shell, which takes a while on a loaded CI machine).

    The worker claims the pages open when it activates. A page whose navigation began before
    that (the test's goto right after signing in, while the worker was still installing) is
    not among them: it stays uncontrolled until its next navigation, as a patient's page
    would until they open another. So once the worker is activated, a page still without a
    controller is reloaded once — the reload goes through the worker."""
    wait_until(page, ACTIVATED, seconds=60)
    try:
        wait_until(page, "navigator.serviceWorker.controller", seconds=2)
    except AssertionError:
        page.reload()
        wait_until(page, "navigator.serviceWorker.controller", seconds=20)


def storage_report(page: Page) -> dict:
    """What this origin keeps in the browser: caches (with their URLs), databases, storage."""
    return page.evaluate(
        """async () => {
            const caches_ = {};
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                caches_[name] = (await cache.keys()).map((r) => new URL(r.url).pathname);
            }
            const dbs = (await indexedDB.databases()).map((d) => d.name);
            return {caches: caches_, databases: dbs, local: Object.keys(localStorage),
                    session: Object.keys(sessionStorage)};
        }"""
    )


def test_walkthrough_runs_from_the_phone_with_no_signal(page: Page, context: BrowserContext):
    """Ready offline online (music and prompt track stored); offline, reload: it starts from
    cache in the same tap, the prompt track playing from the phone's copy, then downtime."""
    page.clock.install()
    sign_in(page, PATIENT)
    session_id = walkthrough_id(page)
    prompt_key = serve_prompt_track(page, session_id)["key"]
    page.goto(f"/patient/sessions/{session_id}")
    for label in REQUIRED:
        page.get_by_label(label).check()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    ready = page.locator("[data-offline-ready]")
    expect(ready).to_have_text(re.compile("Ready offline"), timeout=60_000)
    expect(ready).to_have_attribute("data-state", "ready")
    controlled(page)
    stored = page.evaluate(
        """async () => {
            const {core, currentUser} = await import('/static/js/lib/device.js');
            const user = currentUser();
            const rows = await core.store.all(user, 'tracks');
            return {tracks: rows.filter((t) => !t.promptKey).map((t) => t.blob.size),
                    prompts: rows.filter((t) => t.promptKey).map((t) => [t.key, t.promptKey]),
                    sessions: (await core.store.all(user, 'sessions')).map((s) => s.id)};
        }"""
    )
    assert stored["sessions"] == [session_id]
    assert len(stored["tracks"]) == 2 and min(stored["tracks"]) > 100_000  # both tracks' audio
    assert stored["prompts"] == [[f"{session_id}:prompts", prompt_key]]
    screenshot(page, "offline-ready-phone")

    context.set_offline(True)
    page.reload()
    expect(page.locator("[data-offline-banner]")).to_be_visible()
    expect(page.get_by_label(REQUIRED[0])).to_be_checked()
    page.get_by_role("button", name="Start session").click()
    expect(page).to_have_url(re.compile(rf"/patient/sessions/{session_id}/mode\?device=1$"))
    expect(page.locator("#sm")).to_have_attribute("data-phase", "session")
    wait_until(page, "document.getElementById('sm').dataset.audio !== 'pending'", 30)
    expect(page.get_by_role("button", name="Tap to begin the music")).to_be_hidden()  # one tap
    wait_until(page, PROMPT_PLAYING, 30)
    assert page.evaluate(
        "document.querySelector('audio[data-kap-audio=\"prompts\"]').src.startsWith('blob:')"
    )
    page.clock.run_for(6_000)
    expect(page.locator("#sm-prompt")).to_have_text(FIRST_PROMPT)

    page.clock.run_for((PLAYLIST_SECONDS - 6 + 1) * 1000)
    expect(page.get_by_role("timer")).to_be_visible()
    expect(page.locator("#sm")).to_have_attribute("data-phase", "downtime")

    # Back online: the outbox sends the start and the downtime, with the times they happened.
    context.set_offline(False)
    page.clock.run_for(3_000)
    deadline = time.monotonic() + 15
    while True:
        detail = page.request.get(f"/api/v1/sessions/{session_id}").json()
        if detail["status"] == "downtime" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert detail["status"] == "downtime"
    assert detail["started_at"] and detail["downtime_started_at"]


def new_entry_ids(page: Page, known: set[str]) -> list[dict]:
    """Entries of the signed-in patient whose client_id is not in `known`."""
    entries = page.request.get("/api/v1/journal").json()["entries"]
    return [e for e in entries if e["client_id"] not in known]


#: Entries written with no connection; the others are written online.
OFFLINE_ENTRIES = {1, 3, 5, 7, 9, 10, 11, 14, 16, 17, 19}
CUT_AT = 12  # the page load that sends entries 9-11: the server dies mid-sync


def test_twenty_entries_on_and_off_line_arrive_exactly_once(page: Page, context, live_server):
    """20 entries, offline and online in turn, the server stopped mid-sync: 20 arrive, once each."""
    sign_in(page, PATIENT)
    known = {e["client_id"] for e in new_entry_ids(page, set())}
    page.goto("/patient/journal/new")
    controlled(page)
    cut = []

    def die_after_commit(route):
        """The server stores the entry, then goes away before the phone hears back."""
        if cut or route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()
        cut.append(response.status)
        live_server.stop()
        route.abort("connectionreset")

    bodies = []
    for i in range(20):
        offline = i in OFFLINE_ENTRIES
        if i == CUT_AT:  # the network returns, the outbox sends, the first one is cut off
            context.route("**/api/v1/journal", die_after_commit)  # pages and the worker
        context.set_offline(offline)
        if i == CUT_AT:
            deadline = time.monotonic() + 15
            while not cut and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert cut == [201], (
                "the first pending entry should reach the server, then the server dies"
            )
            context.unroute("**/api/v1/journal")
            live_server.start()
        page.goto("/patient/journal/new")
        body = f"Entry {i:02d}: {'written offline' if offline else 'written online'}."
        bodies.append(body)
        page.get_by_label("What would you like to write?").fill(body)
        page.get_by_role("button", name="Save entry").click()
        if offline:
            expect(page.locator("[data-journal-saved]")).to_be_visible()
            expect(page.locator("[data-journal-saved] [data-sync-label]")).to_have_text(SAVED)
        else:
            expect(
                page.locator(".flash").filter(has_text="Saved. Only you can read it.")
            ).to_be_visible()
            expect(page.locator(".flash .sync-label")).to_have_text(SYNCED)
        if i == 17:  # 16 and 17 wait on the phone
            page.goto("/patient/journal")  # offline: what waits on the phone, and where it is
            waiting = page.locator("#on-this-phone [data-sync-label]")
            expect(waiting.first).to_have_text(SAVED)
            screenshot(page, "outbox-pending-phone")

    context.set_offline(False)
    page.goto("/patient/journal")
    deadline = time.monotonic() + 30
    while len(new_entry_ids(page, known)) < 20 and time.monotonic() < deadline:
        time.sleep(0.3)
    arrived = new_entry_ids(page, known)
    assert sorted(e["body"] for e in arrived) == sorted(bodies)
    assert len({e["client_id"] for e in arrived}) == 20
    wait_until(
        page, "import('/static/js/lib/outbox.js').then((m) => m.list()).then((l) => !l.length)"
    )
    page.reload()
    expect(page.locator("#on-this-phone")).to_be_hidden()  # nothing left on the phone


def _clock_minutes(text: str) -> int:
    """Minutes after midnight of the first time in ``text`` ('10:05', '10:05 PM')."""
    hours, minutes, half = re.search(r"(\d{1,2}):(\d{2})\s*([AP]M)?", text).groups()
    hours = int(hours) % 12 + (12 if half == "PM" else 0) if half else int(hours)
    return hours * 60 + int(minutes)


@pytest.mark.browser_context_args(timezone_id="Asia/Tokyo")
def test_offline_pages_show_times_in_the_clinics_zone(page: Page, context: BrowserContext):
    """A phone set to Tokyo, a clinic in New York: offline, the next session's time is the
    one the clinic's pages show, not the phone's reading of it."""
    sign_in(page, PATIENT)
    page.goto("/patient/")
    online = page.locator(".next-session__when time").inner_text()
    expect(page.locator("[data-offline-ready]")).to_have_text(
        re.compile("Ready offline"), timeout=60_000
    )
    controlled(page)
    wait_until(page, "(async () => { const d = await import('/static/js/lib/device.js'); "
               "return d.clinicZone(d.currentUser()); })()")  # fmt: skip
    context.set_offline(True)
    page.reload()
    offline = page.locator("[data-next-session] [data-when]")
    expect(offline).not_to_be_empty()
    assert _clock_minutes(offline.inner_text()) == _clock_minutes(online)
    context.set_offline(False)


def test_the_session_day_home_page_holds_still_while_it_stores_the_session(page: Page):
    """From the first paint to "Ready offline" (the music stored, seconds later on a slow
    phone), nothing on the home page moves: "Prepare for this session" stays under the
    patient's thumb (test_prepare_slow_phone holds the script back to check the start)."""
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(page, PATIENT)
    page.goto("/patient/")
    expect(page.locator("[data-offline-ready]")).to_have_attribute(
        "data-state", "ready", timeout=60_000
    )
    assert layout_shifts(page) == []


def test_a_draft_survives_a_reload_without_signal(page: Page, context):
    """Typed, not saved; offline reload: the text is offered back (a new entry starts empty,
    issue 17), restored with one tap, and it saves later."""
    sign_in(page, PATIENT)
    page.goto("/patient/journal/new")
    controlled(page)
    text = "Half a thought about the second track,\nwritten just before the battery died."
    page.get_by_label("What would you like to write?").fill(text)
    expect(page.locator("[data-draft-status]")).to_have_text("Draft saved on this phone")

    context.set_offline(True)
    page.reload()
    expect(page.locator("[data-offline-banner]")).to_be_visible()
    expect(page.get_by_label("What would you like to write?")).to_have_value("")
    page.get_by_role("button", name="Restore draft").click()
    expect(page.get_by_label("What would you like to write?")).to_have_value(text)
    expect(page.locator("[data-draft-status]")).to_have_text("Your unsaved draft is back.")

    context.set_offline(False)
    page.get_by_role("button", name="Save entry").click()
    expect(page.locator(".flash").filter(has_text="Saved. Only you can read it.")).to_be_visible()
    assert any(e["body"] == text for e in page.request.get("/api/v1/journal").json()["entries"])


@pytest.mark.browser_context_args(service_workers="block")  # every script from the server
def test_words_typed_before_the_script_loads_are_kept(page: Page):
    """A slow phone: the patient types while the page's script is still loading. The words
    are saved as a draft once it runs, though no key is pressed after that (CI found this
    race: the draft was kept only on the next keystroke)."""
    sign_in(page, PATIENT)
    held = []
    page.route("**/static/js/lib/drafts.js*", lambda route: held.append(route))
    page.goto("/patient/journal/new", wait_until="commit")
    body = page.get_by_label("What would you like to write?")
    while not held:
        page.wait_for_timeout(50)
    body.fill("Written before the page was ready.")
    held[0].continue_()
    expect(page.locator("[data-draft-status]")).to_have_text("Draft saved on this phone")
    page.unroute("**/static/js/lib/drafts.js*")
    page.reload()
    expect(page.locator("[data-draft-offer]")).to_contain_text("Written before the page was ready.")


def test_sign_out_leaves_nothing_for_the_next_patient(page: Page):
    """Sign-out warns of an unsent draft, then wipes; patient2 never sees patient1, nor via Back."""
    sign_in(page, PATIENT)
    page.goto("/patient/journal")
    first_entry = page.locator(".entry__body").first.inner_text()
    page.goto("/patient/")
    expect(page.locator("[data-offline-ready]")).to_have_attribute(
        "data-state", "ready", timeout=60_000
    )
    page.goto("/patient/journal/new")
    page.get_by_label("What would you like to write?").fill("Not finished yet.")
    expect(page.locator("[data-draft-status]")).to_have_text("Draft saved on this phone")
    before = storage_report(page)
    assert any(name.startswith("kap-user-") for name in before["databases"]), before

    page.get_by_role("button", name="Sign out").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Unfinished draft")
    dialog.get_by_role("button", name="Sign out and delete it").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    after = storage_report(page)
    assert not [d for d in after["databases"] if d.startswith("kap-user-")], after
    assert after["local"] == [] and after["session"] == [], after
    shell_only = {"/static/", "/offline", "/manifest.webmanifest"}
    for urls in after["caches"].values():  # the app shell, re-installed, holds nobody's data
        assert all(url.startswith(tuple(shell_only)) for url in urls), urls

    sign_in(page, PATIENT2)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Robin")
    page.goto("/patient/journal")
    for _ in range(6):  # Back through everything the first patient saw
        page.go_back()
        expect(page.locator("body")).not_to_contain_text("Pat Jordan")
        expect(page.locator("body")).not_to_contain_text(first_entry[:40])
        expect(page.locator("body")).not_to_contain_text("Not finished yet.")
    page.goto("/patient/journal/new")
    expect(page.get_by_label("What would you like to write?")).to_have_value("")
    dbs = storage_report(page)["databases"]
    assert all(not d.startswith("kap-user-") or d.endswith(f"-{_user_id(page)}") for d in dbs), dbs


def test_sign_out_without_signal_removes_nothing(page: Page, context: BrowserContext):
    """Offline, Sign out says it needs a connection and keeps everything (its code comes from
    the service worker's cache); online, Stay signed in keeps an unsent draft too."""
    sign_in(page, PATIENT)
    page.goto("/patient/journal/new")
    controlled(page)
    body = page.get_by_label("What would you like to write?")
    body.fill("Kept when signing out fails.")
    expect(page.locator("[data-draft-status]")).to_have_text("Draft saved on this phone")
    kept = storage_report(page)["databases"]

    context.set_offline(True)
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#app-status")).to_contain_text("Signing out needs a connection")
    context.set_offline(False)
    assert storage_report(page)["databases"] == kept

    page.get_by_role("button", name="Sign out").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Unfinished draft")
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_have_count(0)
    assert page.request.get("/api/v1/me").ok
    assert storage_report(page)["databases"] == kept
    page.reload()
    expect(page.locator("[data-draft-offer]")).to_contain_text("Kept when signing out fails.")


def _user_id(page: Page) -> int:
    return page.request.get("/api/v1/me").json()["user"]["id"]


def test_the_app_is_installable(playwright, live_server):
    """In a persistent (non-incognito) profile Chromium reports no installability errors."""
    with tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, base_url=live_server.url
        )
        try:
            page = context.new_page()
            page.goto("/signin")
            wait_until(page, "navigator.serviceWorker.controller")
            cdp = context.new_cdp_session(page)
            errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
            assert errors == []
            manifest = cdp.send("Page.getAppManifest")
            assert not manifest.get("errors"), manifest["errors"]
        finally:
            context.close()


SW_VERSION = """() => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data.version);
    navigator.serviceWorker.controller.postMessage({type: 'version'}, [channel.port2]);
})"""


UNREGISTER = """() => navigator.serviceWorker.getRegistrations()
    .then((registrations) => Promise.all(registrations.map((r) => r.unregister())))"""


def _deploy_and_accept_the_update(page: Page, live_server, revision: str) -> None:
    """A deployment (same files, a new worker revision); the page offers the update and
    reloads into the new worker on request."""
    before = page.evaluate(SW_VERSION)
    live_server.env["KAP_SW_REVISION"] = revision
    live_server.restart()
    page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
    status = page.locator("#app-status")
    expect(status).to_contain_text("Update available — reload", timeout=20_000)
    with page.expect_navigation():
        status.get_by_role("button", name="Reload").click()
    wait_until(page, "navigator.serviceWorker.controller")
    assert page.evaluate(SW_VERSION) != before
    expect(status).not_to_contain_text("Update available")


def test_a_new_service_worker_version_offers_an_update(page: Page, live_server):
    """A new /sw.js installs in the background; the page says so and reloads into it on request.

    First on a page the worker claimed only after it had loaded (the worker installed on it,
    as on a slow phone's first visit): a loaded CI machine showed that page never offering the
    update, because it had judged itself a first install at load. Then on a page the worker
    controlled from its start (after the reload), for the next deployment."""
    sign_in(page, PATIENT)
    page.evaluate(UNREGISTER)
    page.goto("/patient/journal")  # installs the worker afresh, on this page
    controlled(page)
    try:
        _deploy_and_accept_the_update(page, live_server, "next-deployment")
        _deploy_and_accept_the_update(page, live_server, "the-deployment-after")
    finally:
        live_server.env.pop("KAP_SW_REVISION")  # the module's last test: no restart needed
