"""The JSON API at /api/v1, for scripts: bearer tokens, JSON errors, an OpenAPI description."""
