"""The REST API under /api: endpoints declared once, with their schemas, for routing and OpenAPI."""
