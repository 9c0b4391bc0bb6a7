"""The clinic's audit log for its admins: filter, page through, export as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import Select, false, select

from kap.clinic import bp
from kap.extensions import db
from kap.models import User
from kap.pagination import filter_text, page_of
from kap.services import audit
from kap.services.scheduling import local_to_utc

PAGE_SIZE = 50


def _filtered_events() -> tuple[Select, str, str]:
    """The clinic's events as the page's filters ask (newest first), and the filters' texts."""
    action, can_match = filter_text("action", 60)
    since_text = (request.args.get("since") or "").strip()
    since = None
    if since_text:
        try:
            since = local_to_utc(
                datetime.strptime(since_text, "%Y-%m-%d").date(),
                time(0),
                current_user.clinic.timezone,
            )
        except ValueError:
            since_text = ""
    query = audit.events_of_clinic(current_user.clinic_id, since=since, action=action or None)
    if not can_match:
        query = query.where(false())
    return query, action, since_text


def _names(events) -> dict[int, str]:
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


@bp.route("/audit")
def audit_log():
    """Who did what, newest first, 50 to a page."""
    query, action, since_text = _filtered_events()
    page = page_of(query, PAGE_SIZE)
    return render_template(
        "clinic/audit.html",
        events=page.items,
        names=_names(page.items),
        page=page,
        filters={k: v for k, v in (("action", action), ("since", since_text)) if v},
        action=action,
        since=since_text,
        actions=audit.KNOWN_ACTIONS,
    )


@bp.route("/audit.csv")
def audit_csv():
    """The filtered log as CSV (the export itself is audited)."""
    query, _, _ = _filtered_events()
    audit.record(
        "audit.export", actor=current_user, subject_type="clinic", subject_id=current_user.clinic_id
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "at_utc",
            "actor_id",
            "action",
            "subject_type",
            "subject_id",
            "patient_id",
            "ip_address",
            "detail",
        ]
    )
    for event in db.session.scalars(query):
        writer.writerow(
            [
                event.at.isoformat(),
                event.actor_id,
                event.action,
                event.subject_type,
                event.subject_id,
                event.patient_id,
                event.ip_address,
                event.detail,
            ]
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
