"""Consent text: the canonical text a patient signs and its hash, and Markdown rendered safely."""

from __future__ import annotations

import hashlib

import pytest

from kap.services.screening.consent import (
    canonical_text,
    normalise_body,
    normalise_title,
    text_sha256,
)
from kap.web.markdown import render_markdown, safe_link


def test_canonical_text_is_title_blank_line_body():
    assert canonical_text("Consent", "Read this.\n\n- one") == "Consent\n\nRead this.\n\n- one"


def test_hash_is_sha256_of_the_canonical_utf8_bytes():
    title, body = "Consentement éclairé", "Vous pouvez arrêter à tout moment. ✓"
    expected = hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()
    assert text_sha256(title, body) == expected
    assert len(expected) == 64


def test_any_change_to_title_or_body_changes_the_hash():
    base = text_sha256("Consent", "No driving until the next day.")
    assert text_sha256("Consent ", "No driving until the next day.") != base
    assert text_sha256("Consent", "No driving until the next day") != base
    assert text_sha256("consent", "No driving until the next day.") != base


def test_what_is_stored_is_normalised_so_the_same_text_hashes_the_same():
    """A browser's CRLF and stray blank lines do not make a different document."""
    assert normalise_body("\r\n  First line\r\nSecond\r\n\r\n") == "First line\nSecond"
    assert normalise_body("a\rb") == "a\nb"
    assert normalise_title("  Consent\n to  treatment ") == "Consent to treatment"


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ('<a href="javascript:alert(1)">x</a>', "<a "),
        ("[click](javascript:alert(1))", 'href="javascript'),
        ("[click](JavaScript:alert(1))", "href="),
        ("[click]( javascript:alert(1) )", "href="),
        ("[click](<javascript:alert(1)>)", "href="),
        ("[ref]: javascript:alert(1)\n\n[click][ref]", "href="),
        ("<javascript:alert(1)>", "href="),
        ("[click](vbscript:msgbox(1))", "href="),
        ("[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "href="),
        ("![x](javascript:alert(1))", "<img"),
        ("![x](https://tracker.example/pixel.png)", "<img"),
        ("text <b onmouseover=alert(1)>bold</b>", "<b "),
        ("<iframe src=https://example.org></iframe>", "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
    ],
)
def test_markdown_never_lets_markup_or_script_links_through(markdown, forbidden):
    html = str(render_markdown(markdown))
    assert forbidden not in html.lower(), html
    assert "onerror=" not in html or "&lt;" in html  # shown as text, never as an attribute


def test_raw_html_is_shown_as_text():
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render_markdown("<script>alert(1)</script>")


def test_ordinary_markdown_renders_with_headings_below_the_page_title():
    html = str(render_markdown("# Risks\n\n- **Nausea**\n\n[Clinic](https://example.org)"))
    assert "<h3>Risks</h3>" in html
    assert "<li><strong>Nausea</strong></li>" in html
    assert '<a href="https://example.org">Clinic</a>' in html


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org", True),
        ("http://example.org", True),
        ("mailto:care@example.org", True),
        ("tel:+12125550142", True),
        ("/patient/crisis-support", True),
        ("#risks", True),
        ("javascript:alert(1)", False),
        ("  JAVASCRIPT:alert(1)", False),
        ("data:text/html,x", False),
        ("file:///etc/passwd", False),
    ],
)
def test_safe_link(url, safe):
    assert safe_link(url) is safe
