"""GET /api/v1/openapi.json: the OpenAPI 3.1 description of this API, for anyone."""

from flask import jsonify

from kap.api import bp
from kap.api.openapi_spec import build_spec


@bp.route("/openapi.json")
def openapi_json():
    """The description of every API route (public: it holds no data)."""
    return jsonify(build_spec())
