"""/v1/me and /v1/usage: the signed-in person's account, voice settings and quota."""

from __future__ import annotations

from fastapi import APIRouter, Response

from repurposeflow.entrypoints.http.deps import CallerDep, StateDep, UserUowDep
from repurposeflow.entrypoints.http.routes.generations import PROBLEMS
from repurposeflow.entrypoints.http.schemas import MeOut, MePatch, UsageOut
from repurposeflow.services import users
from repurposeflow.services.usage import usage_summary

router = APIRouter(prefix="/v1", tags=["account"])


@router.get("/usage", response_model=UsageOut, responses=PROBLEMS, summary="This month's quota")
def get_usage(caller: CallerDep, state: StateDep, uow: UserUowDep) -> UsageOut:
    return UsageOut.of(usage_summary(uow, state.app.clock, caller.clerk_user_id))


@router.get("/me", response_model=MeOut, responses=PROBLEMS, summary="Your account")
def get_me(caller: CallerDep) -> MeOut:
    return MeOut.of(caller.user)


@router.patch("/me", response_model=MeOut, responses=PROBLEMS, summary="Change your voice")
def patch_me(body: MePatch, caller: CallerDep, uow: UserUowDep) -> MeOut:
    """Default tone and voice settings; fields left out stay as they are."""
    users.set_voice(
        uow,
        caller.clerk_user_id,
        default_tone=body.default_tone,
        banned_phrases=body.banned_phrases,
        sample_posts=body.sample_posts,
        instagram_hashtag_cap=body.instagram_hashtag_cap,
    )
    return MeOut.of(users.get_user(uow, caller.clerk_user_id))


@router.delete(
    "/me",
    status_code=204,
    response_class=Response,
    responses=PROBLEMS,
    summary="Delete your account",
)
def delete_me(caller: CallerDep, state: StateDep) -> Response:
    """Soft delete: generation stops at once and the email is free for a new account."""
    # The application role may not set deleted_at (it changes only profile and voice);
    # closing one's own verified account is the trusted path's job.
    users.delete_user(state.app.uow(), state.app.clock, caller.clerk_user_id)
    return Response(status_code=204)
