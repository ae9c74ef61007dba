"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from repurposeflow.entrypoints.http.deps import StateDep
from repurposeflow.entrypoints.http.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not ready: database or schema."}},
    summary="The database answers and its schema is the newest",
)
def readyz(state: StateDep) -> Health | JSONResponse:
    ready, detail = state.app.readiness()
    if ready:
        return Health(status="ok", detail=detail)
    return JSONResponse(
        Health(status="unavailable", detail=detail).model_dump(),
        status_code=503,
        headers={"Retry-After": "5"},
    )
