"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

from kap import create_app

app = create_app()
