"""A patient's signed consent, downloaded by their care team (the read is audited)."""

from __future__ import annotations

from flask_login import current_user

from kap.services.screening.consent import signed_copy
from kap.therapist import bp
from kap.web.downloads import attachment


@bp.route("/consent/signatures/<int:signature_id>/copy")
def consent_copy(signature_id: int):
    """The exact text the patient signed and their signature, as a Markdown file."""
    copy = signed_copy(current_user, signature_id)
    return attachment(copy.text, mimetype="text/markdown", filename=copy.filename)
