"""Sending e-mail over SMTP when configured; otherwise nothing is sent (and callers say so)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


def mail_configured() -> bool:
    """True when KAP_SMTP_HOST is set."""
    return bool(current_app.config.get("SMTP_HOST"))


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a plain-text message. Returns False (and logs, without the body) on failure."""
    if not mail_configured():
        return False
    config = current_app.config
    try:
        message = EmailMessage()
        message["From"] = config["MAIL_FROM"]
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
    except ValueError:  # a header with a line break: never send it
        log.warning("mail not sent: invalid header")
        return False
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("mail to a user failed: %s", type(error).__name__)
        return False
    return True
