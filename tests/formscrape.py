"""Read the forms of a page the way a browser would submit them (for round-trip tests)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._option_value: str | None = None
        self._option_text: list[str] = []
        self._option_selected = False
        self._textarea: str | None = None
        self._textarea_text: list[str] = []
        self._in_template = 0  # a <template>'s fields are inert: browsers never submit them

    @property
    def _fields(self) -> list[tuple[str, str]]:
        return self.forms[-1]["fields"]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "template":
            self._in_template += 1
        if self._in_template:
            return
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "fields": []})
        elif not self.forms:
            return
        elif tag == "input" and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self._fields.append((attributes["name"], attributes.get("value", "on")))
        elif tag == "select":
            self._select = attributes.get("name")
            self._select_value = self._select_first = None
        elif tag == "option" and self._select:
            self._option_value = attributes.get("value")
            self._option_text = []
            self._option_selected = "selected" in attributes
        elif tag == "textarea":
            self._textarea = attributes.get("name")
            self._textarea_text = []

    def handle_data(self, data):
        if self._in_template:
            return
        if self._textarea is not None:
            self._textarea_text.append(data)
        elif self._option_value is not None or self._select:
            self._option_text.append(data)

    def handle_endtag(self, tag):
        if tag == "template":
            self._in_template -= 1
        if self._in_template:
            return
        if tag == "option" and self._select:
            value = self._option_value
            if value is None:
                value = "".join(self._option_text).strip()
            if self._select_first is None:
                self._select_first = value
            if self._option_selected:
                self._select_value = value
            self._option_value = None
        elif tag == "select" and self._select:
            chosen = self._select_value if self._select_value is not None else self._select_first
            if chosen is not None:
                self._fields.append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers normalise CRLF to LF and drop one newline right after <textarea>.
            text = "".join(self._textarea_text).replace("\r\n", "\n")
            self._fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def forms(html: str) -> list[dict]:
    """Every form: {"action": ..., "fields": [(name, value), ...]} in document order."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_data(html: str, action_contains: str = "") -> dict[str, str]:
    """The fields of the first form whose action contains ``action_contains``, as a dict."""
    for form in forms(html):
        if action_contains in form["action"]:
            return dict(form["fields"])
    raise AssertionError(f"no form with action containing {action_contains!r}")
