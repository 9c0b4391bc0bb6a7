"""A patient's signed consent, downloaded by their care team (the read is audited)."""

from __future__ import annotations

from flask import Response
from flask_login import current_user

from kap.services.screening.consent import signed_copy
from kap.therapist import bp


@bp.route("/consent/signatures/<int:signature_id>/copy")
def consent_copy(signature_id: int):
    """The exact text the patient signed and their signature, as a Markdown file."""
    copy = signed_copy(current_user, signature_id)
    return Response(
        copy.text,
        mimetype="text/markdown",
        headers={
            "Content-Disposition": f'attachment; filename="{copy.filename}"',
            "Cache-Control": "no-store",
        },
    )
