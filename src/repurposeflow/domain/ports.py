"""Ports: what the services need from the world, as typing.Protocol, and nothing else.

Adapters implement them (``adapters.memory`` is the reference); services only see these.
Every store raises the same domain errors (``DuplicateUser``, ...) for the same misuse.
The values that cross them live beside their subject: ``engine``, ``progress``,
``stats``, ``external`` and ``model``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from repurposeflow.domain.engine import Analysis, PlatformDraft, RenderRequest
from repurposeflow.domain.enums import (
    BillingInterval,
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tier,
    Tone,
)
from repurposeflow.domain.external import (
    BillingEvent,
    CheckoutSession,
    Identity,
    IdentityEvent,
    SubscriptionSnapshot,
    VerifiedWebhook,
)
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.model import (
    Generation,
    HistoryCursor,
    Subscription,
    UsageEvent,
    User,
    VoiceSettings,
    WebhookEvent,
)
from repurposeflow.domain.progress import ProgressEvent
from repurposeflow.domain.quota import Quota
from repurposeflow.domain.stats import DailyVolume, LatencyStats, PlatformPopularity, TierStat

# --- clock --------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


# --- repositories ---------------------------------------------------------------------


class UserRepository(Protocol):
    def add(self, user: User) -> None:
        """Insert; raises DuplicateUser if a live user has the clerk id, email or customer."""

    def add_if_absent(self, user: User) -> User:
        """Insert unless a live user already has this Clerk id; either way, return the
        live user with it. Safe when many first requests of one new person race (insert
        or nothing, then read). Raises DuplicateUser if *another* account has the email
        or Stripe customer."""

    def get(self, user_id: uuid.UUID) -> User | None:
        """By id, deleted or not."""

    def get_by_clerk_id(self, clerk_user_id: str) -> User | None:
        """The live user with that Clerk id, if any."""

    def clerk_id_was_deleted(self, clerk_user_id: str) -> bool:
        """Whether an account with that Clerk id was deleted (a late profile event must
        not bring it back)."""

    def get_for_update(self, user_id: uuid.UUID) -> User | None:
        """Read and lock the row until the transaction ends: plan changes for one user
        are applied one at a time."""

    def get_by_stripe_customer(self, stripe_customer_id: str) -> User | None: ...

    def update_profile(self, user_id: uuid.UUID, *, email: str, full_name: str | None) -> None:
        """Raises DuplicateUser if another live user has the email."""

    def set_voice(self, user_id: uuid.UUID, voice: VoiceSettings) -> None: ...

    def set_plan(
        self,
        user_id: uuid.UUID,
        *,
        tier: Tier,
        status: SubscriptionStatus,
        limit: int,
        stripe_customer_id: str | None,
        stripe_subscription_id: str | None,
        current_period_end: datetime | None,
    ) -> None:
        """Set tier and limit at once; never touches the count."""

    def soft_delete(self, user_id: uuid.UUID, now: datetime) -> None: ...

    def reserve(
        self, user_id: uuid.UUID, now: datetime, *, limit: int | None = None
    ) -> Quota | None:
        """Atomically ``Quota.reserve``: take one unit in the window current at ``now``
        (a new window if the last has ended). None when the quota is exhausted or there
        is no live user (read the user to tell which). ``limit``: use this limit instead
        of the stored one, without storing it (a local plan that applies only while
        set); the stored plan is untouched."""

    def refund(self, user_id: uuid.UUID, window: datetime) -> bool:
        """Atomically ``Quota.refund``: give back one unit if the user's window is still
        the one ending at ``window`` (the generation's ``charged_reset_at``)."""


class GenerationRepository(Protocol):
    def add(self, generation: Generation) -> None:
        """Insert. One request in flight per (user, request key): if a *pending*
        generation of the user has the same key, raises RequestInFlight (naming it) and
        inserts nothing. The store enforces it (a partial unique index), so twins racing
        on many connections get the same answer; a caller that reserved in the same
        unit of work and leaves it uncommitted is not charged."""

    def get(self, generation_id: uuid.UUID) -> Generation | None: ...

    def get_for_update(self, generation_id: uuid.UUID) -> Generation | None:
        """Like ``get``, and hold the row until the unit of work ends, so a
        read-modify-write (a regenerate) cannot lose a concurrent one's changes."""

    def find_by_idempotency_key(self, user_id: uuid.UUID, key: str) -> Generation | None:
        """The generation this user's Idempotency-Key started, if any. ``add`` raises
        IdempotencyKeyReused (naming it) for a second generation with the same key."""

    def find_pending(self, user_id: uuid.UUID, request_key: str) -> Generation | None:
        """The generation in flight for this request, if any (to join or report it)."""

    def find_by_request_key(self, user_id: uuid.UUID, request_key: str) -> Generation | None:
        """The newest completed generation for the same request, if any."""

    def save(self, generation: Generation) -> None:
        """Write back results (status, outputs, usage, analysis) of an existing row."""

    def settle_failed(
        self, generation_id: uuid.UUID, *, error_message: str, now: datetime
    ) -> datetime | None:
        """Move a *pending* generation to failed and clear its charge, exactly once.
        Returns the window it had been charged in (to refund), else None."""

    def list_for_user(
        self,
        user_id: uuid.UUID,
        *,
        limit: int,
        before: HistoryCursor | None = None,
        status: GenerationStatus | None = None,
        since: datetime | None = None,
        platform: Platform | None = None,
    ) -> list[Generation]:
        """Newest first."""

    def stale_pending(self, older_than: datetime, limit: int) -> list[uuid.UUID]: ...


class UsageLogRepository(Protocol):
    def add(self, event: UsageEvent) -> None: ...

    def list_for_user(self, user_id: uuid.UUID, limit: int = 100) -> list[UsageEvent]:
        """Newest first."""


class SubscriptionRepository(Protocol):
    def get_by_stripe_id(self, stripe_subscription_id: str) -> Subscription | None: ...

    def upsert(self, subscription: Subscription) -> None: ...

    def list_for_user(self, user_id: uuid.UUID) -> list[Subscription]: ...


class WebhookEventRepository(Protocol):
    def add_if_new(self, event: WebhookEvent) -> bool:
        """Store once by (external) event_id; False if it was already there."""

    def get_by_event_id(self, event_id: str) -> WebhookEvent | None: ...

    def mark_processed(self, event_id: str, now: datetime) -> None: ...

    def mark_failed(self, event_id: str, error: str) -> None:
        """Record the error and count the retry; the event stays unprocessed."""

    def list_unprocessed(self, limit: int = 100) -> list[WebhookEvent]: ...

    def list_events(
        self,
        *,
        limit: int = 100,
        since: datetime | None = None,
        unprocessed_only: bool = False,
        oldest_first: bool = False,
    ) -> list[WebhookEvent]:
        """Stored events received at or after ``since``, newest first unless
        ``oldest_first``."""


# --- retention and monitoring ---------------------------------------------------------


class MaintenanceRepository(Protocol):
    """Retention and the seed's monitoring queries, as each store does them best."""

    def archive_generations(self, cutoff: datetime, batch_size: int) -> int: ...

    def aggregate_usage_logs(self, cutoff: datetime, batch_size: int) -> tuple[int, int]:
        """Fold raw usage logs older than cutoff into daily rows: (logs folded, rows touched)."""

    def purge_webhook_events(self, cutoff: datetime, batch_size: int) -> int:
        """Delete *processed* webhook events older than cutoff."""

    def tier_stats(self) -> list[TierStat]: ...

    def daily_volume(self, since: datetime) -> list[DailyVolume]: ...

    def platform_popularity(self, since: datetime) -> list[PlatformPopularity]: ...

    def latency(self, since: datetime) -> LatencyStats: ...


class UnitOfWork(Protocol):
    """One transaction over every repository. Leaving the block without ``commit()``
    rolls back."""

    # Read-only to the services (properties), so an adapter may hold its own
    # repository classes in plain attributes.
    @property
    def users(self) -> UserRepository: ...

    @property
    def generations(self) -> GenerationRepository: ...

    @property
    def usage(self) -> UsageLogRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def webhooks(self) -> WebhookEventRepository: ...

    @property
    def maintenance(self) -> MaintenanceRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


# --- content engine -------------------------------------------------------------------


@runtime_checkable
class ContentEngine(Protocol):
    """Turns source text into platform drafts. Raises EngineError when it cannot."""

    name: str

    @property
    def model(self) -> str: ...

    def analyze(self, source: str, tone: Tone) -> Analysis: ...

    def render(self, request: RenderRequest) -> PlatformDraft: ...


# --- billing and identity -------------------------------------------------------------


class BillingGateway(Protocol):
    """The billing provider (Stripe). Every method raises a domain error: NotConfigured,
    BillingUnavailable (the provider failed), UnknownPrice, WebhookRejected."""

    def create_checkout_session(
        self,
        *,
        user_ref: str,
        customer_email: str,
        stripe_customer_id: str | None,
        tier: Tier,
        interval: BillingInterval,
        success_url: str,
        cancel_url: str,
    ) -> CheckoutSession:
        """A hosted checkout for ``tier``; the subscription it creates names ``user_ref``
        (our Clerk user id) and reuses the customer when there is one."""

    def create_portal_session(self, *, stripe_customer_id: str, return_url: str) -> str:
        """The URL of the provider's self-service billing portal."""

    def fetch_subscription(self, stripe_subscription_id: str) -> SubscriptionSnapshot:
        """The subscription as the provider has it now."""

    def tier_for_price(self, stripe_price_id: str) -> Tier:
        """Raises UnknownPrice for a price that is not a configured plan."""

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        """Check the raw body's signature and timestamp; raises WebhookRejected on a bad
        or missing signature, a stale timestamp or a body that is not an event."""

    def read_event(self, payload: Mapping[str, Any]) -> BillingEvent:
        """What a verified (or stored) event means; unknown types read as IGNORED.
        Raises InvalidInput when a known event lacks what it must carry."""


class IdentityVerifier(Protocol):
    """The identity provider (Clerk): session tokens and user webhooks."""

    def verify_session_token(self, token: str) -> Identity:
        """Raises Unauthorized for a missing, expired, not yet valid or forged token."""

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> VerifiedWebhook:
        """Raises WebhookRejected, as ``BillingGateway.verify_webhook``."""

    def read_event(self, payload: Mapping[str, Any]) -> IdentityEvent:
        """Unknown types read as IGNORED; raises InvalidInput for a malformed user event."""


# --- progress -------------------------------------------------------------------------


class ProgressListener(Protocol):
    def __call__(self, event: ProgressEvent, /) -> None: ...


# --- background jobs ------------------------------------------------------------------


class JobRunner(Protocol):
    """Runs generation jobs away from the request. Raises JobRejected when it cannot
    take one more (the caller fails and refunds the generation)."""

    def submit(self, job: GenerationJob) -> None: ...

    def shutdown(self, *, wait: bool = True) -> None: ...
