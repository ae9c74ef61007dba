"""/v1/admin: the monitoring queries, for the users on the admin allow-list."""

from __future__ import annotations

from fastapi import APIRouter

from repurposeflow.entrypoints.http.deps import AdminDep, StateDep
from repurposeflow.entrypoints.http.routes.generations import PROBLEMS
from repurposeflow.entrypoints.http.schemas import StatsOut
from repurposeflow.services import maintenance

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/stats", response_model=StatsOut, responses=PROBLEMS, summary="Monitoring")
def get_stats(admin: AdminDep, state: StateDep) -> StatsOut:
    """Plans, daily volume (30 days), platform popularity and latency (7 days), over all
    users. Only for ids in REPURPOSEFLOW_ADMIN_USERS; others get 404."""
    # Across every account, so the trusted (system) unit of work, not the caller's.
    return StatsOut.of(maintenance.stats(state.app.uow(), state.app.clock))
