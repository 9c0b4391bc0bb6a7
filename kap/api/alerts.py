"""Safety alerts for the people who must act on them."""

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso
from kap.models import Role
from kap.services.alerts import open_alerts
from kap.web.roles import api_roles


@bp.route("/alerts")
@api_roles(Role.THERAPIST, Role.CLINIC_ADMIN)
def list_alerts():
    """Open alerts of the caller's patients (an admin: the clinic's), newest first."""
    return jsonify(
        alerts=[
            {
                "id": a.id,
                "kind": a.kind,
                "patient_id": a.patient_id,
                "session_id": a.session_id,
                "created_at": iso(a.created_at),
                "acknowledged_at": iso(a.acknowledged_at),
            }
            for a in open_alerts(current_user)
        ]
    )
