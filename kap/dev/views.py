"""/dev/mail: the last messages of the local mail sink, for a clinic admin in development."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user

from kap.dev import bp
from kap.models import Role

#: Where create_app's caller keeps the running sink (kap.jobs.embedded starts it).
SINK_EXTENSION = "kap_dev_mail_sink"


@bp.get("/mail")
def mail():
    """The sink's messages, newest first. 404 for anyone but a signed-in clinic admin (the
    messages hold sign-in links and addresses), and 404 while no sink runs."""
    sink = current_app.extensions.get(SINK_EXTENSION)
    if (
        current_app.config["ENV_NAME"] != "development"
        or sink is None
        or not current_user.is_authenticated
        or current_user.role != Role.CLINIC_ADMIN
    ):
        abort(404)
    return render_template("dev/mail.html", messages=list(reversed(sink.messages)))
