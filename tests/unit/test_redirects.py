"""Safe `next` redirects after sign-in."""

import pytest

from kap.web.redirects import safe_next_path


@pytest.mark.parametrize(
    "target", ["/patient/", "/therapist/?sort=alerts", "/patient/crisis-support#top"]
)
def test_local_paths_are_kept(target):
    """A path on this site is a fine place to go after sign-in."""
    assert safe_next_path(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "patient/",
        "/pa\ttient",
        "/" + "a" * 3000,
    ],
)
def test_other_hosts_and_tricks_are_refused(target):
    """Anything that could leave the site (or is not a plain path) is dropped."""
    assert safe_next_path(target) is None
