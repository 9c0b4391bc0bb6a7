"""What the WebKit tests share: signing in, finding things as a person would, waiting on
conditions (never on time), time jumps on the server's session clock, screenshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.helpers import SCREENSHOTS

PATIENT = "patient@demo.test"
PASSWORD = "demo-password"
WALKTHROUGH = "Walkthrough (3 minutes)"
REQUIRED = (
    "No food for 6 hours before my session",
    "No alcohol in the last 24 hours",
    "A ride home is arranged",
)
FIRST_PROMPT = "Put on your eye mask and let your breath slow."
PLAYLIST_SECONDS = 112  # two 60 s soundscapes with an 8 s cross-fade
DOWNTIME_SECONDS = 60

#: Runs after a page has loaded: remembers every media element the page plays from now on
#: (session mode's are never in the DOM), so a test can ask whether one is really playing.
WATCH_MEDIA = """
if (!window.__kapMedia) {
  window.__kapMedia = new Set();
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    window.__kapMedia.add(this);
    return play.apply(this, args);
  };
}
"""
#: True once one of the watched media elements plays: not paused, and its time has moved.
MEDIA_PLAYING = """
return [...(window.__kapMedia || [])].some(
  (a) => !a.paused && a.currentTime > 0 && a.src && !a.src.startsWith('data:'));
"""


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any], seconds: float = 20, what=""):
    """The condition's first truthy value; fails after ``seconds`` saying what was awaited."""
    return WebDriverWait(
        driver,
        seconds,
        poll_frequency=0.1,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    ).until(condition, message=what or getattr(condition, "__name__", "condition"))


def wait_js(driver: WebDriver, script: str, seconds: float = 20):
    """Wait until ``script`` (a function body that may return a promise) returns truthy.

    Selenium runs it through WebDriver's own evaluation, which the page's CSP does not
    govern, so polling an expression is allowed where `new Function` in the page is not."""
    return wait(driver, lambda d: d.execute_script(script), seconds, what=script.strip())


def go(driver: WebDriver, base_url: str, path: str) -> None:
    """Open ``path`` on the live server."""
    driver.get(base_url + path)


def sign_in(driver: WebDriver, base_url: str, email: str = PATIENT) -> None:
    """Sign in through the real form, as a person would."""
    go(driver, base_url, "/signin")
    labelled(driver, "Email").send_keys(email)
    labelled(driver, "Password").send_keys(PASSWORD)
    button(driver, "Sign in").click()
    wait(driver, lambda d: "/signin" not in d.current_url, what="signed in")


def labelled(driver: WebDriver, text: str) -> WebElement:
    """The form control whose <label> reads ``text`` (the label's `for`, or the control
    inside it)."""
    for label in driver.find_elements(By.TAG_NAME, "label"):
        if label.text.strip() != text:
            continue
        target = label.get_attribute("for")
        if target:
            return driver.find_element(By.ID, target)
        return label.find_element(By.CSS_SELECTOR, "input, textarea, select")
    raise NoSuchElementException(f"no control labelled {text!r}")


def button(driver: WebDriver, name: str) -> WebElement:
    """The first visible button (or submit input) named ``name``."""
    for element in driver.find_elements(By.CSS_SELECTOR, "button, input[type=submit]"):
        label = element.text.strip() or (element.get_attribute("value") or "")
        if label == name and element.is_displayed():
            return element
    raise NoSuchElementException(f"no visible button named {name!r}")


def tap(driver: WebDriver, element: WebElement) -> None:
    """Click ``element`` in the middle of the window: fixed bars (the offline banner, the
    "Ready offline" toast) cover the window's edges, where WebDriver would otherwise click."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def link(driver: WebDriver, name: str) -> WebElement:
    """The first visible link whose text is ``name``."""
    for element in driver.find_elements(By.TAG_NAME, "a"):
        if element.text.strip() == name and element.is_displayed():
            return element
    raise NoSuchElementException(f"no visible link named {name!r}")


def text_of(driver: WebDriver, selector: str) -> str:
    """The visible text of the first element matching ``selector`` ('' when there is none)."""
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text.strip() if found else ""


def api(driver: WebDriver, path: str) -> Any:
    """GET ``path`` of the JSON API with this browser's sign-in; the parsed body (None when
    the server does not answer)."""
    return driver.execute_script(
        "return fetch(arguments[0], {headers: {Accept: 'application/json'}, cache: 'no-store'})"
        ".then((r) => r.json()).catch(() => null);",
        path,
    )


def tick_required(driver: WebDriver) -> None:
    """Tick the Walkthrough's required items on the preparation page; each one saved.

    Module scripts run after the page is shown: a tick before prepare.js listens would be a
    plain form change that nobody saves. The script hides the Save checklist button first."""
    wait_js(driver, "return document.querySelector('[data-checklist-save]')?.hidden === true")
    for text in REQUIRED:
        box = labelled(driver, text)
        if not box.is_selected():
            box.click()
        wait(driver, lambda d, box=box: box.is_selected(), what=f"{text} ticked")
        wait_js(driver, "return [...document.querySelectorAll('[role=status]')]"
                ".some((s) => s.textContent.includes('Saved.'))")  # fmt: skip


def backdate(live_server, session_id: int, seconds: float) -> None:
    """Move the session's recorded times ``seconds`` into the past: the page's clock follows
    the server's start (SessionClock), so after a reload the session is that much further on.

    WebKitWebDriver has no clock to fast-forward (Playwright's page.clock is Chromium-side
    here), and waiting minutes is not a test."""
    live_server.python(_BACKDATE, str(session_id), str(seconds))


_BACKDATE = """
import sys
from datetime import timedelta
from wsgi import app
from kap.extensions import db
from kap.models import TreatmentSession
with app.app_context():
    session = db.session.get(TreatmentSession, int(sys.argv[1]))
    shift = timedelta(seconds=float(sys.argv[2]))
    for name in ("session_started_at", "downtime_started_at", "integration_started_at"):
        if getattr(session, name) is not None:
            setattr(session, name, getattr(session, name) - shift)
    db.session.commit()
"""


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the window to docs/screenshots/<name>.png (kept for the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
