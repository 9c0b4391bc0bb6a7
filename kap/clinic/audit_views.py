"""The clinic's audit log for its admins: filter, page through, export as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from kap.clinic import bp
from kap.extensions import db
from kap.models import User
from kap.services import audit
from kap.services.scheduling import local_to_utc

PAGE_SIZE = 50


def _filters() -> tuple[str, datetime | None, str]:
    action = (request.args.get("action") or "").strip()[:60]
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
    return action, since, since_text


def _names(events) -> dict[int, str]:
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


@bp.route("/audit")
def audit_log():
    """Who did what, newest first, 50 to a page."""
    action, since, since_text = _filters()
    page = max(1, request.args.get("page", 1, type=int))
    query = audit.events_of_clinic(current_user.clinic_id, since=since, action=action or None)
    events = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "clinic/audit.html",
        events=events[:PAGE_SIZE],
        names=_names(events),
        page=page,
        has_more=len(events) > PAGE_SIZE,
        action=action,
        since=since_text,
        actions=audit.KNOWN_ACTIONS,
    )


@bp.route("/audit.csv")
def audit_csv():
    """The filtered log as CSV (the export itself is audited)."""
    action, since, _ = _filters()
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
    for event in db.session.scalars(
        audit.events_of_clinic(current_user.clinic_id, since=since, action=action or None)
    ):
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
