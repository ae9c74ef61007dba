"""``repurposeflow serve``: the API under uvicorn, configured from the environment."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from repurposeflow.bootstrap import bootstrap, load_http_settings
from repurposeflow.entrypoints.http.app import create_app
from repurposeflow.entrypoints.http.logs import configure_json_logging

DEV_USER_ENV = "REPURPOSEFLOW_DEV_USER"


def app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each worker process."""
    configure_json_logging()
    return create_app(bootstrap(), load_http_settings())


def serve(*, host: str, port: int, workers: int, dev_user: str | None) -> None:
    if dev_user:
        os.environ[DEV_USER_ENV] = dev_user  # worker processes read it from here
    configure_json_logging()
    # Fail here, once, with a readable error if the settings or the database are wrong,
    # and migrate before any worker starts.
    load_http_settings()
    bootstrap()
    uvicorn.run(
        "repurposeflow.entrypoints.http.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # X-Forwarded-For is honoured only from REPURPOSEFLOW_TRUSTED_PROXIES, by the app.
        proxy_headers=False,
        server_header=False,
        log_config=None,
    )
