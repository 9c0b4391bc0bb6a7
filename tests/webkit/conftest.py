"""WebKit tests: WebKitGTK (the engine behind Safari) driven by Selenium's WebKitWebDriver.

The lane needs Debian's `webkit2gtk-driver` (/usr/bin/WebKitWebDriver) and `xvfb` (WebKitGTK
has no headless mode, so it draws on a virtual X display), and uses `pulseaudio` when present:
a private daemon with a null sink gives media elements a real audio device. Without the
driver or Xvfb these tests are skipped with the reason, unless KAP_REQUIRE_WEBKIT=1 (CI),
when they fail.

What was found on this machine (WebKitGTK 2.50, GStreamer 1.22): `<audio>` plays WAV (also as
a blob URL), AAC in MP4 and MP3 once a user gesture started it, with or without an audio
server (GStreamer falls back to a silent sink); play() from script without a tap is refused
with NotAllowedError, and that activation does not survive a navigation. So "could not play;
prompts will still come" was never the missing sink: see tests/webkit/test_walkthrough.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer, demo_server

WEBKIT_DRIVER = os.environ.get("KAP_WEBKIT_DRIVER", "/usr/bin/WebKitWebDriver")
XVFB = shutil.which("Xvfb") or "/usr/bin/Xvfb"
PULSEAUDIO = shutil.which("pulseaudio")
#: The phone to emulate. WebKitGTK's window cannot be narrower than its toolbar-less minimum
#: (447 px here); the width asked for is kept where GTK allows it.
PHONE = (390, 844)


def _missing() -> str | None:
    if not Path(WEBKIT_DRIVER).exists():
        return f"WebKitWebDriver not found at {WEBKIT_DRIVER} (apt-get install webkit2gtk-driver)"
    if not Path(XVFB).exists():
        return "Xvfb not found (apt-get install xvfb)"
    return None


def pytest_collection_modifyitems(config, items):
    """Mark everything here as a WebKit test; skip (or fail) when the engine is missing."""
    here = Path(__file__).parent
    webkit_items = [item for item in items if Path(item.fspath).is_relative_to(here)]
    for item in webkit_items:
        item.add_marker(pytest.mark.webkit)
    reason = _missing()
    if reason is None or os.environ.get("KAP_REQUIRE_WEBKIT") == "1":
        return  # the display fixture fails loudly instead
    for item in webkit_items:
        item.add_marker(pytest.mark.skip(reason=f"{reason}; WebKit tests skipped"))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """An Xvfb display of its own (Xvfb picks a free number and tells it through -displayfd)."""
    reason = _missing()
    if reason:
        pytest.fail(f"KAP_REQUIRE_WEBKIT=1 but {reason}")
    read, write = os.pipe()
    process = subprocess.Popen(
        [XVFB, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        assert number, "Xvfb did not report its display"
        yield f":{number}"
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def audio_server() -> Iterator[str | None]:
    """A private PulseAudio daemon with a null sink; its server address, or None without it.

    As root (CI containers) PulseAudio refuses the per-user mode unless told where to live:
    HOME, XDG_RUNTIME_DIR and PULSE_RUNTIME_PATH point into a temporary folder, `-n` skips
    the system's default.pa (no hardware, no D-Bus), `--system=false --disallow-exit
    --exit-idle-time=-1` keep one per-user daemon up for the whole run, and anonymous auth on
    its own socket lets WebKit's GStreamer connect through PULSE_SERVER without a cookie.
    """
    if PULSEAUDIO is None:
        yield None  # media still plays into GStreamer's fallback sink; said in the report
        return
    folder = Path(tempfile.mkdtemp(prefix="kap-pulse-"))
    socket = folder / "native"
    env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_RUNTIME_DIR": str(folder),
        "PULSE_RUNTIME_PATH": str(folder),
    }
    process = subprocess.Popen(
        [PULSEAUDIO, "-n", "--daemonize=no", "--system=false", "--disallow-exit",
         "--exit-idle-time=-1", "--disable-shm=yes", "--log-target=stderr", "--log-level=error",
         "--load=module-null-sink sink_name=kap_null",
         f"--load=module-native-protocol-unix auth-anonymous=1 socket={socket}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not socket.exists():
            assert process.poll() is None, "pulseaudio exited at start"
            assert time.monotonic() < deadline, "pulseaudio did not open its socket"
            time.sleep(0.05)
        yield f"unix:{socket}"
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def driver(display, audio_server, tmp_path):
    """A fresh WebKitGTK window (its own cookies, caches and IndexedDB) sized like a phone."""
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.service import Service

    env = {**os.environ, "DISPLAY": display, "LIBGL_ALWAYS_SOFTWARE": "1"}
    if audio_server:
        env["PULSE_SERVER"] = audio_server
    service = Service(
        executable_path=WEBKIT_DRIVER, log_output=str(tmp_path / "webkitwebdriver.log"), env=env
    )
    options = webdriver.WebKitGTKOptions()
    browser = webdriver.WebKitGTK(options=options, service=service)
    try:
        browser.set_window_size(*PHONE)
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """gunicorn on a free port with fresh demo data, one per module (as tests/browser does)."""
    yield from demo_server(tmp_path_factory, "webkit-tests-secret-key-0123456789abcdef")
