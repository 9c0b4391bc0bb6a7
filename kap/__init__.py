"""KAP Companion: create_app() builds the Flask application."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from kap.config import ROOT, Config, load_config
from kap.web.application import KapFlask


def create_app(config: Config | str | None = None) -> Flask:
    """Build the app from a Config object, a config name, or KAP_ENV."""
    app = KapFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    if config is None or isinstance(config, str):
        config = load_config(config)
    app.config.from_object(config)
    if app.config.get("TRUSTED_PROXIES"):
        # Exactly that many hops of X-Forwarded-For/-Proto/-Port are believed (SECURITY.md):
        # the address a proxy appended, never one a client wrote into the header itself. The
        # port keeps the Host the app sees equal to the browser's origin on a port other than
        # 443 (external links, and the CSRF check's same-origin Referer over HTTPS).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_port=hops)

    from kap import audit_anchor, cli, extensions, prepared_statements
    from kap.web import errors, request_log, routing, server_session, templating
    from kap.web import headers as security
    from kap.web import static_files as perf

    routing.init_app(app)  # before any blueprint registers <int:...> rules
    request_log.init_app(app)  # first after-request hook, so it runs last and times the rest
    from kap.auth import login, timeouts

    extensions.db.init_app(app)
    prepared_statements.init_app(app)  # PostgreSQL: read-only transactions end in COMMIT
    extensions.migrate.init_app(app, extensions.db, directory=str(ROOT / "migrations"))
    extensions.init_csrf(app)
    extensions.init_limiter(app)
    extensions.login_manager.init_app(app)
    app.session_interface = server_session.ServerSessionInterface()
    login.init_app(app)
    timeouts.init_app(app)

    from kap.api import bp as api_bp
    from kap.auth import bp as auth_bp
    from kap.board import bp as board_bp
    from kap.clinic import bp as clinic_bp
    from kap.main import bp as main_bp
    from kap.patient import bp as patient_bp
    from kap.pwa import bp as pwa_bp
    from kap.therapist import bp as therapist_bp

    for blueprint in (
        auth_bp,
        patient_bp,
        therapist_bp,
        clinic_bp,
        board_bp,
        api_bp,
        main_bp,
        pwa_bp,
    ):
        app.register_blueprint(blueprint)
    if app.config["ENV_NAME"] == "development":  # the dev mail page exists nowhere else
        from kap.dev import bp as dev_bp

        app.register_blueprint(dev_bp)

    errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    audit_anchor.init_app(app)
    # Compression everywhere; digest-named static URLs in production only (kap/web/static_files.py).
    perf.init_app(app)
    return app
