"""The printable monitoring record as a PDF download (the page itself is in ``views``)."""

from __future__ import annotations

import re

from flask import request
from flask_login import current_user

from kap.board import bp
from kap.services.board import summary as board_summary
from kap.timezones import to_local
from kap.web.downloads import attachment


def _filename(summary: board_summary.Summary) -> str:
    """'monitoring-record-2026-11-23-pat-jordan-s42.pdf' (ASCII, safe in a header)."""
    day = to_local(summary.session.scheduled_at, summary.clinic.timezone).strftime("%Y-%m-%d")
    name = re.sub(r"[^a-z0-9]+", "-", summary.session.patient.name.lower()).strip("-")
    return f"monitoring-record-{day}-{name or 'patient'}-s{summary.session.id}.pdf"


@bp.route("/sessions/<int:session_id>/summary.pdf")
def summary_pdf(session_id: int):
    """The session's monitoring record as a PDF (A4; ?paper=letter for US Letter)."""
    # fpdf and its fonts load on the first PDF, not in every app server at start-up (0.2 s).
    from kap.board.pdf_layout import PAPER
    from kap.board.summary_pdf import build_pdf

    paper = request.args.get("paper", "a4")
    summary = board_summary.summary_for(current_user, session_id, action="session.summary.pdf")
    body = build_pdf(summary, current_user.name, paper if paper in PAPER else "a4")
    return attachment(body, mimetype="application/pdf", filename=_filename(summary))
