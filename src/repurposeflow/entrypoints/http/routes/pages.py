"""The web page served by ``repurposeflow serve``: one HTML shell, one script, one
stylesheet, all shipped in the package (no build step, no CDN, works offline).

The page holds no rules and no data of its own: everything it shows comes from the
``/v1`` API with the same auth as any other client.
"""

from __future__ import annotations

import html
import json
import uuid
from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from repurposeflow.bootstrap import ENGINES
from repurposeflow.entrypoints.http.deps import StateDep

router = APIRouter(include_in_schema=False)

_WEB = resources.files("repurposeflow.entrypoints.http") / "web"
_ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}


@cache
def _asset(name: str) -> str:
    return (_WEB / name).read_text(encoding="utf-8")


def _page(state: StateDep) -> HTMLResponse:
    settings = state.app.settings
    engines = [settings.engine, *(e for e in ENGINES if e != settings.engine)]
    config = {
        "engines": engines,
        "defaultEngine": settings.engine,
        "devUser": state.settings.dev_user,
    }
    # Inside <script>, "</" would end the element: JSON escapes it as "<\/".
    blob = json.dumps(config).replace("</", "<\\/")
    body = _asset("index.html").replace("{{CONFIG}}", blob)
    body = body.replace("{{DEV_USER}}", html.escape(state.settings.dev_user or ""))
    return HTMLResponse(
        body,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": (
                "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                "style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
                "frame-ancestors 'self'"
            ),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/", response_class=HTMLResponse)
def home(state: StateDep) -> HTMLResponse:
    return _page(state)


@router.get("/g/{generation_id}", response_class=HTMLResponse)
def one_generation(generation_id: uuid.UUID, state: StateDep) -> HTMLResponse:
    # The id is read by the script from the address; a wrong one shows the API's 404.
    return _page(state)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in _ASSETS:
        return Response(status_code=404)
    return Response(
        _asset(name),
        media_type=_ASSETS[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
