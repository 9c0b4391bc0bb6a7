"""A bare Flask app (no session, no database), served by the same gunicorn settings.

Reported for context beside the budget's yardstick, a bare route of the app itself
(bench/serve_app.py): the journal must reach a third of that route's requests per second.
"""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    """The smallest useful answer."""
    return "ok"
