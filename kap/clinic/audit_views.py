"""The clinic's audit log for its admins: filter, page through, export as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, time
from itertools import islice

from flask import render_template, request
from flask_login import current_user

from kap.clinic import bp
from kap.services import audit_log
from kap.timezones import local_to_utc
from kap.web.downloads import attachment
from kap.web.pagination import Query, filter_text, page_of

PAGE_SIZE = 50
CSV_BATCH = 500
#: A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    """The log's filters as the query string gave them (junk read as no filter)."""

    query: Query
    action: str
    since: str
    person: int | None
    people: list[audit_log.Person]

    @property
    def args(self) -> dict[str, str]:
        """The filters for links (pager, export), empty ones left out."""
        values = (("action", self.action), ("since", self.since), ("person", self.person))
        return {key: str(value) for key, value in values if value}


def _filters() -> Filters:
    """The clinic's events as the page's filters ask (newest first), and the filters."""
    clinic = current_user.clinic
    action, can_match = filter_text("action", 60)
    since_text = (request.args.get("since") or "").strip()
    since = None
    if since_text:
        try:
            since = local_to_utc(
                datetime.strptime(since_text, "%Y-%m-%d").date(), time(0), clinic.timezone
            )
        except ValueError:
            since_text = ""
    people = audit_log.people_of_clinic(clinic.id)
    raw_person = request.args.get("person", "")
    person = int(raw_person) if raw_person.isdecimal() and len(raw_person) < 10 else None
    if person not in {p.id for p in people}:
        person = None  # someone of another clinic, or junk: the filter is not applied
    query = audit_log.filtered_events(
        clinic.id, since=since, action=action or None, person_id=person, can_match=can_match
    )
    return Filters(query, action, since_text, person, people)


@bp.route("/audit", endpoint="audit_log")
def audit_log_page():
    """Who did what, newest first, 50 to a page, with names."""
    filters = _filters()
    page = page_of(filters.query, PAGE_SIZE)
    clinic = current_user.clinic
    return render_template(
        "clinic/audit.html",
        rows=audit_log.describe(clinic.id, clinic.timezone, page.items),
        page=page,
        filters=filters,
        actions=audit_log.action_choices(clinic.id),
    )


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


@bp.route("/audit.csv")
def audit_csv():
    """The filtered log as CSV, with names (the export itself is audited)."""
    filters = _filters()
    clinic = current_user.clinic
    audit_log.record_export(current_user)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "at_utc",
            "actor_id",
            "actor_name",
            "actor_role",
            "action",
            "subject_type",
            "subject_id",
            "subject",
            "patient_id",
            "patient_name",
            "ip_address",
            "detail",
        ]
    )
    events = audit_log.events_in(filters.query)
    while batch := list(islice(events, CSV_BATCH)):
        for row in audit_log.describe(clinic.id, clinic.timezone, batch):
            event = row.event
            writer.writerow(
                _cell(value)
                for value in (
                    event.at.isoformat(),
                    event.actor_id,
                    row.actor.name if row.actor else "",
                    row.actor.role if row.actor else "",
                    event.action,
                    event.subject_type,
                    event.subject_id,
                    row.subject,
                    event.patient_id,
                    row.patient.name if row.patient else "",
                    event.ip_address,
                    event.detail,
                )
            )
    return attachment(buffer.getvalue(), mimetype="text/csv", filename="audit-log.csv")
