"""Domain errors. Each carries a stable ``code`` (the problem ``type`` slug over HTTP)
and a message a person can act on. Entry points map them; nothing else should."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repurposeflow.domain.model import TokenUsage

from collections.abc import Iterable
from datetime import datetime


class RepurposeFlowError(Exception):
    """Base of every error RepurposeFlow raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(RepurposeFlowError):
    code = "invalid-input"


class EmptyInput(InvalidInput):
    code = "empty-input"

    def __init__(self) -> None:
        super().__init__("The input is empty: give it a post, article or transcript to repurpose.")


class InputTooLarge(InvalidInput):
    code = "input-too-large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The input has {size:,} characters; the limit is {limit:,}. "
            "Split it into parts and repurpose each."
        )
        self.size = size
        self.limit = limit


class InputNotText(InvalidInput):
    code = "input-not-text"

    def __init__(self, source: str = "the input") -> None:
        super().__init__(
            f"{source} is not UTF-8 text; save it as UTF-8 (plain text, Markdown or HTML)."
        )


class InvalidChoice(InvalidInput):
    code = "invalid-choice"

    def __init__(self, what: str, value: str, valid: Iterable[str]) -> None:
        self.valid = tuple(valid)
        self.what = what
        self.value = value
        super().__init__(f"Unknown {what} {value!r}; choose one of: {', '.join(self.valid)}.")


class NotFound(RepurposeFlowError):
    code = "not-found"


class UserNotFound(NotFound):
    code = "user-not-found"

    def __init__(self, who: object) -> None:
        super().__init__(f"No active user {who}.")


class GenerationNotFound(NotFound):
    code = "generation-not-found"

    def __init__(self, generation_id: object) -> None:
        super().__init__(f"No generation {generation_id} in your history.")


class UserDeleted(RepurposeFlowError):
    code = "user-deleted"

    def __init__(self, who: object) -> None:
        super().__init__(f"The account {who} was deleted and cannot generate content.")


class Conflict(RepurposeFlowError):
    code = "conflict"


class DuplicateUser(Conflict):
    code = "duplicate-user"

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"Another active account already uses {field} {value!r}.")


class GenerationBusy(Conflict):
    code = "generation-busy"

    def __init__(self, generation_id: object) -> None:
        super().__init__(f"Generation {generation_id} is still running; try again when it ends.")


class RequestInFlight(Conflict):
    """The same request (same user, request key) is already running: it was neither
    started again nor charged again."""

    code = "request-in-flight"

    def __init__(self, generation_id: object) -> None:
        self.generation_id = generation_id
        super().__init__(
            f"The same request is already running as generation {generation_id}; "
            "it was not started or charged again. Wait for it to finish."
        )


class NotPermitted(RepurposeFlowError):
    """The store refused a write this identity may not make (e.g. a person changing
    their own plan)."""

    code = "not-permitted"


class QuotaExhausted(RepurposeFlowError):
    code = "quota-exhausted"

    def __init__(
        self, *, used: int, limit: int, reset_at: datetime, tier: str, upgrade: str = ""
    ) -> None:
        self.used = used
        self.limit = limit
        self.reset_at = reset_at
        self.tier = tier
        super().__init__(
            f"You have used {used} of {limit} generations this month on the {tier} plan. "
            f"Your quota resets on {reset_at:%Y-%m-%d %H:%M} UTC."
            + (f" {upgrade}" if upgrade else "")
        )


class EngineError(RepurposeFlowError):
    """A content engine failed (network, provider error, unusable answer).

    ``usage``: what the failed call still cost (a provider bills a refusal or broken
    JSON like any answer), so the run's token and dollar totals stay true."""

    code = "engine-error"

    def __init__(self, message: str, *, usage: TokenUsage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class UnusableAnswer(EngineError):
    """The model answered, but not with this platform's output: broken or truncated
    JSON, the wrong shape, or a refusal. Worth one repair call, which is shown ``raw``."""

    def __init__(self, message: str, *, raw: str = "", usage: TokenUsage | None = None) -> None:
        super().__init__(message, usage=usage)
        self.raw = raw


class StoreUnavailable(RepurposeFlowError):
    code = "store-unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(f"The database is unavailable: {detail}")


class WebhookRejected(RepurposeFlowError):
    """Bad signature, stale timestamp or malformed payload: nothing was stored."""

    code = "webhook-rejected"


class Unauthorized(RepurposeFlowError):
    code = "unauthorized"


class JobRejected(RepurposeFlowError):
    """The job runner is full; the caller should try again shortly."""

    code = "busy"

    def __init__(self, detail: str = "too many generations are running") -> None:
        super().__init__(f"The service is busy ({detail}); try again in a few seconds.")


class EngineUnavailable(EngineError):
    """The engine could not be reached or is overloaded (network down, timeout, 5xx,
    429): nothing was answered, so the same run may succeed later. A job queue retries
    it with backoff; run in the foreground, it fails (and refunds) at once."""

    code = "engine-unavailable"


def is_engine_outage(exc: BaseException) -> bool:
    """An engine failure worth retrying later: ``EngineUnavailable``, or the standard
    library's own connection errors and timeouts raised through an engine."""
    return isinstance(exc, EngineUnavailable | ConnectionError | TimeoutError)


class NotConfigured(RepurposeFlowError):
    """A feature needs settings that are not there (e.g. Stripe keys)."""

    code = "not-configured"


class BillingUnavailable(RepurposeFlowError):
    """The billing provider failed or refused a request."""

    code = "billing-unavailable"


class UnknownPrice(InvalidInput):
    code = "unknown-price"

    def __init__(self, price_id: str) -> None:
        super().__init__(
            f"Price {price_id!r} is not one of the configured plan prices "
            "(REPURPOSEFLOW_STRIPE_PRICE_PRO, REPURPOSEFLOW_STRIPE_PRICE_BUSINESS and their "
            "_YEARLY variants); nothing was changed."
        )
        self.price_id = price_id


class IdempotencyKeyReused(Conflict):
    """The Idempotency-Key already started a generation for a different request."""

    code = "idempotency-key-reused"

    def __init__(self, generation_id: object) -> None:
        self.generation_id = generation_id
        super().__init__(
            f"This Idempotency-Key already started generation {generation_id} with a "
            "different request; use a new key for a new request."
        )
