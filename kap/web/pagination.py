"""Pages and filters of a growing list for HTML pages: `?page=N` (junk read as the first
page) and filter texts from the query string."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from flask import request
from sqlalchemy import Select

from kap.services.queries import rows_and_more

#: A query a service built and scoped, handed to a view to page (views build no queries and do
#: not import SQLAlchemy: docs/architecture.md, "Layers").
Query: TypeAlias = Select
#: A service's audited read of one window of rows: (limit, offset) → (rows, whether more follow).
Fetch: TypeAlias = Callable[..., tuple[list[Any], bool]]

MAX_PAGE_NUMBER = 100_000  # past any real list; keeps OFFSET far from integer overflow
_PAGE = re.compile(r"[1-9][0-9]{0,5}")


@dataclass(frozen=True)
class Page:
    """One page of rows, and whether there are newer (previous) or older (next) ones."""

    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def filter_text(name: str, max_length: int) -> tuple[str, bool]:
    """A list filter's text from the query string (trimmed, at most ``max_length``), and
    whether it can match stored text at all: one with a NUL cannot (PostgreSQL text holds
    none, and comparing one is an error, not a miss)."""
    text = request.args.get(name, "").strip()[:max_length]
    return text, "\x00" not in text


def requested_page() -> int:
    """The `page` query parameter (1 when absent, malformed or out of range)."""
    raw = request.args.get("page", "")
    if _PAGE.fullmatch(raw) and int(raw) <= MAX_PAGE_NUMBER:
        return int(raw)
    return 1


def page_of(query: Select, per_page: int) -> Page:
    """The requested page of ``query`` (ordered by the caller), in one statement.

    A page past the end is empty rather than an error: a link kept from when the list was
    longer still opens, and the page offers the way back.
    """
    return page_from(lambda limit, offset: rows_and_more(query, limit, offset), per_page)


def page_from(fetch: Fetch, per_page: int) -> Page:
    """The requested page from ``fetch(limit=..., offset=...)``: a service's read that returns
    rows and whether more follow (one that audits the read returns rows, never a query)."""
    number = requested_page()
    items, more = fetch(limit=per_page, offset=(number - 1) * per_page)
    return Page(items, number, more)
