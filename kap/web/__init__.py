"""Flask plumbing every blueprint shares.

The session store, security headers, static files, error pages, logs, templating, routing,
pagination, form helpers, role checks and safe redirects.
"""
