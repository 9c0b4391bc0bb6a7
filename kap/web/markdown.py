"""Markdown a clinic wrote (consent documents), rendered safely: the one place it is turned
into HTML, for every page that shows it.

CommonMark with tables and strikethrough, and with raw HTML off: a ``<script>`` or an
``<img onerror=…>`` in the text comes out as visible, escaped text. Links keep only
``http``, ``https``, ``mailto`` and ``tel`` (or no scheme at all): any other link, such as
``javascript:`` or ``data:``, stays plain text. Links open as ordinary links; images are not
rendered at all (a consent page loads nothing from elsewhere; the CSP would refuse it anyway).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):")


def safe_link(url: str) -> bool:
    """Whether a link may be rendered as one: no scheme (relative), or a safe one."""
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_RENDERER.validateLink = safe_link  # type: ignore[method-assign]
_RENDERER.enable(["table", "strikethrough"])
_RENDERER.disable("image")


def render_markdown(text: str, heading_shift: int = 2) -> Markup:
    """``text`` (Markdown) as HTML safe to put in a page.

    Headings move down ``heading_shift`` levels (a ``#`` heading becomes ``<h3>``, at most
    ``<h6>``): the page's own title and the document's title come first.
    """
    tokens = _RENDERER.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + heading_shift)}"
    html = _RENDERER.renderer.render(tokens, _RENDERER.options, {})
    return Markup(html)  # noqa: S704 - raw HTML is off and links are checked: it is escaped
