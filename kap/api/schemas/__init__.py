"""Request and response models of the JSON API v1, one module per area.

Each model is written once and used three ways: request models validate bodies
(``kap.api.io.read_body``), response models shape answers, and both give the OpenAPI
document its schemas (``kap.api.openapi.build_spec``). See docs/architecture.md.
"""
