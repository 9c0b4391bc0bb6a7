"""Which push endpoints the server may call: the real push services over https, nothing else
(a patient-supplied URL must not reach the server's own network)."""

from __future__ import annotations

import pytest

from kap.config import Config
from kap.services.reminders.push_sender import endpoint_allowed

DEFAULT = Config.PUSH_ALLOWED_HOSTS


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx",
        "https://db5p.notify.windows.com/w/?token=abc",
        "https://fcm.googleapis.com:443/fcm/send/abc",
    ],
)
def test_the_real_push_services_are_allowed(endpoint):
    assert endpoint_allowed(endpoint, DEFAULT)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://fcm.googleapis.com:8443/fcm/send/abc",  # another port
        "https://127.0.0.1/push",
        "https://localhost/push",
        "https://169.254.169.254/latest/meta-data",
        "https://fcm.googleapis.com.evil.test/x",
        "https://evilpush.apple.com/x",  # not a subdomain of push.apple.com
        "https://push.apple.com/x",  # the wildcard names subdomains only
        "https://user:pw@fcm.googleapis.com/x",
        "https://[::1]/x",
        "ftp://fcm.googleapis.com/x",
        "https://fcm.googleapis.com:99999/x",  # an impossible port
        "",
        "fcm.googleapis.com/x",
    ],
)
def test_anything_else_is_refused(endpoint):
    assert not endpoint_allowed(endpoint, DEFAULT)


def test_a_plain_http_entry_allows_that_host_only_over_http():
    allowed = DEFAULT + ",http://127.0.0.1"
    assert endpoint_allowed("http://127.0.0.1:8123/push/a", allowed)
    assert not endpoint_allowed("http://127.0.0.2:8123/push/a", allowed)
    assert not endpoint_allowed("http://localhost:8123/push/a", allowed)
