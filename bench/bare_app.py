"""A bare Flask route, served by the same gunicorn settings, as the yardstick for throughput.

DESIGN §5: the patient journal page must reach at least a third of this route's requests
per second in the same run.
"""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    """The smallest useful answer."""
    return "ok"
