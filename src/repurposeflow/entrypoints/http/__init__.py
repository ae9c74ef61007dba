"""The HTTP API (FastAPI): ``create_app(app)`` from ``repurposeflow.bootstrap``."""

from repurposeflow.entrypoints.http.app import create_app

__all__ = ["create_app"]
