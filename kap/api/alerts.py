"""Safety alerts for the people who must act on them."""

from flask import jsonify
from flask_login import current_user

from kap.api.operations import operation
from kap.api.schemas.clinical import Alert, Alerts
from kap.models import Role
from kap.services.alerts import open_alerts


@operation(
    "/alerts",
    summary="Open safety alerts of the caller's patients",
    tag="Alerts",
    roles=(Role.THERAPIST, Role.CLINIC_ADMIN),
    description="Newest first; PHQ-9 item 9 above 0 raises kind phq9_item9.",
    responses={200: ("The open alerts.", Alerts)},
)
def list_alerts():
    """Open alerts of the caller's patients (an admin: the clinic's), newest first."""
    alerts = open_alerts(current_user)
    return jsonify(alerts=[Alert.answer(a) for a in alerts])
