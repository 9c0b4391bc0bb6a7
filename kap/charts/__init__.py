"""Charts drawn on the server as inline SVG: no scripts, no inline styles, CSP-safe."""
