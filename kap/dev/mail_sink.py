"""A local SMTP server for development and tests: real SMTP (aiosmtpd) on 127.0.0.1.

`make run` starts one when no KAP_SMTP_HOST is set, so reminder and invitation e-mails go
somewhere a developer can read them: each message is printed to the console and the last
ones are kept for the dev-only page /dev/mail. Tests start their own on a free port and read
``messages``. It never relays anything anywhere.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller

#: How many messages the sink keeps (the oldest go first).
KEPT_MESSAGES = 50


@dataclass(frozen=True)
class SunkMail:
    """One message the sink received, as a reader sees it."""

    sender: str
    to: str
    subject: str
    body: str


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # policy.default makes an EmailMessage (compat32, the default, would not).
        message = cast(EmailMessage, message_from_bytes(envelope.content, policy=policy.default))
        part = message.get_body(preferencelist=("plain",))
        mail = SunkMail(
            sender=str(message.get("From", "")),
            to=", ".join(envelope.rcpt_tos),
            subject=str(message.get("Subject", "")),
            body=part.get_content() if part is not None else "",
        )
        self.sink.receive(mail)
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on 127.0.0.1:``port`` (0: a free one) that keeps what it receives."""

    def __init__(self, port: int = 0, *, echo: bool = False) -> None:
        self.echo = echo
        self._messages: deque[SunkMail] = deque(maxlen=KEPT_MESSAGES)
        self._received = threading.Condition()
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=port or _free_port()
        )

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def receive(self, mail: SunkMail) -> None:
        with self._received:
            self._messages.append(mail)
            self._received.notify_all()
        if self.echo:
            print(
                f"--- mail to {mail.to}\nSubject: {mail.subject}\n\n{mail.body}\n---",
                flush=True,
            )

    @property
    def messages(self) -> list[SunkMail]:
        """What was received, oldest first."""
        with self._received:
            return list(self._messages)

    def wait_for(self, count: int, seconds: float = 10) -> list[SunkMail]:
        """The messages once there are at least ``count`` (fails after ``seconds``)."""
        with self._received:
            if not self._received.wait_for(lambda: len(self._messages) >= count, seconds):
                raise AssertionError(f"{len(self._messages)} messages, expected {count}")
            return list(self._messages)


def _free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now (aiosmtpd's start-up check needs a real one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def use_dev_mail_sink(config: dict[str, Any], port: int) -> MailSink:
    """Start a sink on ``port`` that echoes to the console, and point ``config``'s SMTP at it."""
    sink = MailSink(port, echo=True).start()
    config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_STARTTLS=False)
    config.update(SMTP_USERNAME=None, SMTP_PASSWORD=None)
    return sink
