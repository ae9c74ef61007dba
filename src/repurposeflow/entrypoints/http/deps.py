"""Dependencies, as ``Annotated`` aliases that routes declare and tests override."""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated

import attrs
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from repurposeflow.bootstrap import App, HttpSettings
from repurposeflow.domain.errors import NotConfigured, Unauthorized
from repurposeflow.domain.external import Identity
from repurposeflow.domain.model import User
from repurposeflow.domain.ports import JobRunner, UnitOfWork
from repurposeflow.entrypoints.http.progress import ProgressHub
from repurposeflow.entrypoints.http.ratelimit import RateLimits
from repurposeflow.services import users

log = logging.getLogger("repurposeflow.http")

NO_AUTH_CONFIGURED = (
    "Authentication is not configured on this server: set CLERK_JWT_KEY to your Clerk "
    "instance's PEM public key (and CLERK_AUTHORIZED_PARTIES to your front-end origins), "
    "or, on your own machine only, run `repurposeflow serve --dev-user NAME`."
)


@attrs.define
class HttpState:
    """What the routes share, made once per ``create_app``."""

    app: App
    settings: HttpSettings
    hub: ProgressHub
    jobs: JobRunner
    limits: RateLimits


def get_state(request: Request) -> HttpState:
    state = request.app.state.repurposeflow
    assert isinstance(state, HttpState)
    return state


StateDep = Annotated[HttpState, Depends(get_state)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ClerkSession",
    description="A Clerk session token (JWT), verified offline against CLERK_JWT_KEY.",
)


def get_identity(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Identity:
    dev_user = state.settings.dev_user
    if dev_user:
        return Identity(clerk_user_id=dev_user, email=f"{dev_user}@localhost")
    verifier = state.app.identity
    if verifier is None:
        raise Unauthorized(NO_AUTH_CONFIGURED)
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("Missing session token: send `Authorization: Bearer <token>`.")
    try:
        return verifier.verify_session_token(credentials.credentials.strip())
    except NotConfigured:  # e.g. only the Clerk webhook secret is set
        raise Unauthorized(NO_AUTH_CONFIGURED) from None


IdentityDep = Annotated[Identity, Depends(get_identity)]


@attrs.frozen
class Caller:
    """The signed-in person of this request, and where their request came from."""

    clerk_user_id: str
    user: User
    user_agent: str | None
    ip_address: str | None


def get_caller(state: StateDep, identity: IdentityDep, request: Request) -> Caller:
    state.limits.hit_user(identity.clerk_user_id)
    request.state.clerk_user_id = identity.clerk_user_id
    user = users.sign_in(
        state.app.user_uow(identity.clerk_user_id),
        state.app.clock,
        clerk_user_id=identity.clerk_user_id,
        email=identity.email,
        full_name=identity.full_name,
    )
    agent = request.headers.get("user-agent")
    return Caller(
        clerk_user_id=identity.clerk_user_id,
        user=user,
        user_agent=agent[:500] if agent else None,
        ip_address=_ip_or_none(request.client.host if request.client else None),
    )


def _ip_or_none(host: str | None) -> str | None:
    """Only a real address is logged (a unix socket or a test client has none)."""
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_user_uow(state: StateDep, caller: CallerDep) -> UnitOfWork:
    """A unit of work that acts for the caller (row-level security on PostgreSQL)."""
    return state.app.user_uow(caller.clerk_user_id)


UserUowDep = Annotated[UnitOfWork, Depends(get_user_uow)]


def get_admin(state: StateDep, caller: CallerDep) -> Caller:
    if caller.clerk_user_id not in state.settings.admin_users:
        # Not 403: who is an administrator is nobody else's business.
        from repurposeflow.domain.errors import NotFound

        raise NotFound("No such resource.")
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]
