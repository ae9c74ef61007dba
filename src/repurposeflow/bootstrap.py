"""The one place that reads settings and wires adapters to the services.

Settings come from, highest first: explicit overrides (CLI flags), environment
variables ``REPURPOSEFLOW_*``, the config file (``REPURPOSEFLOW_CONFIG`` or
``<user config dir>/repurposeflow/config.toml``), then defaults.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import attrs
import platformdirs

from repurposeflow.adapters.clock import SystemClock
from repurposeflow.domain.enums import BillingInterval, Platform, SubscriptionStatus, Tier, Tone
from repurposeflow.domain.errors import InvalidInput, NotConfigured
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.model import User, VoiceSettings
from repurposeflow.domain.ports import (
    BillingGateway,
    Clock,
    ContentEngine,
    IdentityVerifier,
    JobRunner,
    UnitOfWork,
    UserRepository,
)
from repurposeflow.domain.progress import ProgressEvent
from repurposeflow.domain.quota import Quota, limit_for
from repurposeflow.services.webhooks import WebhookInbox

if TYPE_CHECKING:
    from repurposeflow.adapters.engines.estimate import GenerationEstimate
    from repurposeflow.adapters.engines.pricing import Catalogue
    from repurposeflow.adapters.jobs.notify import PgProgressListener
    from repurposeflow.adapters.jobs.procrastinate import ProcrastinateJobRunner
    from repurposeflow.adapters.sql.partitions import PartitionReport

_ENV_PREFIX = "REPURPOSEFLOW_"
_KEYS = (
    "home",
    "database_url",
    "system_database_url",
    "engine",
    "model",
    "base_url",
    "prices",
    "user",
    "email",
    "tier",
    "concurrency",
    "jobs",
)
# Where a started generation runs: "inline", a pool of threads in the process that
# started it (the embedded default); "procrastinate", a durable queue on PostgreSQL
# that `repurposeflow worker` processes run.
JOB_RUNNERS = ("inline", "procrastinate")


@attrs.frozen
class Settings:
    home: Path
    database_url: str
    engine: str = "local"
    user: str = "local"
    email: str = "you@localhost"
    tier: Tier | None = None  # None: leave the local user's plan as it is
    concurrency: int = 6
    config_file: Path | None = None
    jobs: str = "inline"

    # The model engines: a model (None: the price table's default for the provider), a
    # base URL for an OpenAI-compatible or proxy endpoint, and a price file of one's own.
    model: str | None = None
    base_url: str | None = None
    prices: Path | None = None
    # The trusted path's own login (PostgreSQL): webhooks, account deletion, admin stats,
    # migrations and workers act as repurposeflow_system through it, while requests for
    # a signed-in person use database_url, a login that may only be repurposeflow_app.
    # None: database_url does both (a login that is a member of both roles).
    system_database_url: str | None = None

    @property
    def trusted_database_url(self) -> str:
        return self.system_database_url or self.database_url

    @property
    def queued(self) -> bool:
        """Generations go to the durable queue (``jobs = "procrastinate"``)."""
        return self.jobs == "procrastinate"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("repurposeflow", appauthor=False))


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir("repurposeflow", appauthor=False)) / "config.toml"


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise InvalidInput(f"The config file {path} is a directory; name a TOML file.") from None
    except PermissionError:
        raise InvalidInput(f"Cannot read the config file {path}: permission denied.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read the config file {path}: {exc.strerror}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"The config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise InvalidInput(
            f"The config file {path} has unknown keys: {', '.join(unknown)} "
            f"(known: {', '.join(_KEYS)})."
        )
    return data


def _text(values: Mapping[str, Any], key: str, default: str) -> str:
    """A setting that must be text: a config file can hold any TOML type."""
    value = values.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        kind = {int: "a number", float: "a number", bool: "true/false", list: "a list"}.get(
            type(value), type(value).__name__
        )
        raise InvalidInput(f'The setting {key} must be text (e.g. {key} = "…"), not {kind}.')
    if "\x00" in value:
        raise InvalidInput(f"The setting {key} contains a NUL character.")
    return value


# A local convenience only: with billing configured, plans come from the billing provider.
_BILLING_KEYS = ("STRIPE_SECRET_KEY",)


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    known_engines: Collection[str] = (),
    **overrides: Any,
) -> Settings:
    """``known_engines``: engines a host or test adds to the installed ones (e.g. the
    scripted test engine), never reachable from the CLI by name alone."""
    env = os.environ if env is None else env
    config_path = Path(env.get(f"{_ENV_PREFIX}CONFIG") or default_config_file())
    values: dict[str, Any] = dict(_read_config(config_path))
    for key in _KEYS:
        if env.get(_ENV_PREFIX + key.upper()):
            values[key] = env[_ENV_PREFIX + key.upper()]
    values.update({k: v for k, v in overrides.items() if v is not None})

    home = Path(_text(values, "home", "") or default_home()).expanduser()
    engine = check_engine_name(_text(values, "engine", "local"), (*ENGINES, *known_engines))
    raw_concurrency = values.get("concurrency", 6)
    try:
        if isinstance(raw_concurrency, bool | float):
            raise TypeError
        concurrency = int(raw_concurrency)
    except (TypeError, ValueError):
        raise InvalidInput("concurrency must be a whole number.") from None
    if not 1 <= concurrency <= 32:
        raise InvalidInput("concurrency must be between 1 and 32.")
    tier_name = _text(values, "tier", "")
    tier = Tier.parse(tier_name) if tier_name else None
    if tier is not None and any(env.get(k, "").strip() for k in _BILLING_KEYS):
        raise InvalidInput(
            "REPURPOSEFLOW_TIER (tier) is a local convenience and billing is configured "
            "(STRIPE_SECRET_KEY is set): plans come from Stripe. Unset the tier setting."
        )
    database_url = _text(values, "database_url", "") or f"sqlite:///{home / 'repurposeflow.db'}"
    check_database_url(database_url)
    system_database_url = _text(values, "system_database_url", "") or None
    if system_database_url is not None:
        check_database_url(system_database_url)
        if not (is_postgres(database_url) and is_postgres(system_database_url)):
            raise InvalidInput(
                "system_database_url (REPURPOSEFLOW_SYSTEM_DATABASE_URL) is for PostgreSQL: "
                "set it, and database_url, to PostgreSQL URLs, or leave it unset."
            )
    jobs = check_jobs(_text(values, "jobs", "inline"), database_url)
    return Settings(
        home=home,
        database_url=database_url,
        engine=engine,
        user=_text(values, "user", "local"),
        email=_text(values, "email", "you@localhost"),
        tier=tier,
        concurrency=concurrency,
        config_file=config_path,
        jobs=jobs,
        system_database_url=system_database_url,
        model=_text(values, "model", "").strip() or None,
        base_url=_text(values, "base_url", "").strip() or None,
        prices=Path(_text(values, "prices", "")).expanduser() if values.get("prices") else None,
    )


def check_jobs(name: str, database_url: str) -> str:
    """The job-runner setting: one of JOB_RUNNERS; the durable queue only on PostgreSQL."""
    jobs = name.strip().lower()
    if jobs not in JOB_RUNNERS:
        raise InvalidInput(
            f"Unknown jobs setting {name!r}; choose one of: {', '.join(JOB_RUNNERS)}."
        )
    if jobs == "procrastinate" and not is_postgres(database_url):
        raise InvalidInput(
            'jobs = "procrastinate" needs a PostgreSQL database (REPURPOSEFLOW_DATABASE_URL='
            'postgresql+psycopg://…); this one is not. Use jobs = "inline" here.'
        )
    return jobs


def is_postgres(database_url: str) -> bool:
    return database_url.split("://", 1)[0].split("+", 1)[0] in {"postgresql", "postgres"}


def check_database_url(url: str) -> None:
    """Raises InvalidInput for a URL no store here can open (before anything is charged)."""
    if url.startswith("memory:"):
        return
    from repurposeflow.adapters.sql import check_url

    check_url(url)


def is_ephemeral(database_url: str) -> bool:
    """True for a store that keeps nothing after the process (``memory://``, ``sqlite://``)."""
    return (
        database_url.startswith("memory:")
        or database_url.rstrip("/")
        in {
            "sqlite:",
            "sqlite:/",
        }
        or ":memory:" in database_url
    )


@attrs.frozen
class EngineOptions:
    """What a model engine is built with; the local engine needs none of it."""

    model: str | None = None
    base_url: str | None = None
    prices: Path | None = None

    @classmethod
    def of(cls, settings: Settings) -> EngineOptions:
        return cls(settings.model, settings.base_url, settings.prices)


def _local_engine(options: EngineOptions) -> ContentEngine:
    from repurposeflow.adapters.engines.local import LocalEngine

    return LocalEngine()


def _scripted_engine(options: EngineOptions) -> ContentEngine:
    from repurposeflow.adapters.engines.scripted import ScriptedEngine

    return ScriptedEngine()


def check_model(provider: str, model: str | None, catalogue: Catalogue) -> None:
    """A model priced under the other provider is a mix-up (a config file's model with
    --engine switched): said before anything is called or charged."""
    if not model or model in catalogue.models.get(provider, {}):
        return
    elsewhere = [p for p, models in catalogue.models.items() if p != provider and model in models]
    if elsewhere:
        raise InvalidInput(
            f"The model {model!r} is a {elsewhere[0]} model; use --engine {elsewhere[0]}, "
            f"or name a {provider} model with --model."
        )


def _model_engine_options(provider: str, options: EngineOptions) -> dict[str, Any]:
    from repurposeflow.adapters.engines.pricing import load_catalogue

    catalogue = load_catalogue(options.prices)
    check_model(provider, options.model, catalogue)
    return {"model": options.model, "catalogue": catalogue, "base_url": options.base_url}


def price_catalogue(settings: Settings) -> Catalogue:
    """The price table (shipped, with the ``prices`` setting's file over it)."""
    from repurposeflow.adapters.engines.pricing import load_catalogue

    return load_catalogue(settings.prices)


def estimate_cost(
    settings: Settings,
    source: str,
    platforms: tuple[Platform, ...],
    tone: Tone,
    *,
    voice: VoiceSettings | None = None,
) -> GenerationEstimate:
    """``repurpose --dry-run``: the real prompts counted and priced; no call, no charge.
    ``voice``: the person's voice settings, which the prompts carry."""
    from repurposeflow.adapters.engines.estimate import estimate_generation

    catalogue = price_catalogue(settings)
    check_model(settings.engine, settings.model, catalogue)
    return estimate_generation(
        source,
        provider=settings.engine,
        model=settings.model,
        platforms=platforms,
        tone=tone,
        voice=voice,
        catalogue=catalogue,
    )


def warm_up_engines(settings: Settings) -> None:
    """Load what describing the model engines needs (each SDK's model names: seconds of
    imports) so the first person to open the engine picker does not wait for it. An
    error is left for the request that meets it."""
    with contextlib.suppress(Exception):
        catalogue = price_catalogue(settings)
        for provider in MODEL_ENGINES:
            catalogue.default_model(provider)


# The variable each model engine reads its key from (the providers' own names).
ENGINE_KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


def missing_engine_key(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The key variable a model engine needs and this process lacks; None when the
    engine can run here (the local engine always can). Only the variable is read:
    nothing is called."""
    variable = ENGINE_KEYS.get(name)
    env = os.environ if env is None else env
    if variable is None or env.get(variable, "").strip():
        return None
    return variable


def _openai_engine(options: EngineOptions) -> ContentEngine:
    from repurposeflow.adapters.engines.openai import OpenAIEngine

    return OpenAIEngine(**_model_engine_options("openai", options))


def _anthropic_engine(options: EngineOptions) -> ContentEngine:
    from repurposeflow.adapters.engines.anthropic import AnthropicEngine

    return AnthropicEngine(**_model_engine_options("anthropic", options))


# Every engine a person can choose by name. A new engine is one builder here (imported
# late: a CLI run pays only for the engine it uses). Test engines are not among them: a
# canned answer must never be charged for; tests and hosts pass them in (engine_factory,
# TEST_ENGINE_BUILDERS).
ENGINE_BUILDERS: dict[str, Callable[[EngineOptions], ContentEngine]] = {
    "local": _local_engine,
    "openai": _openai_engine,
    "anthropic": _anthropic_engine,
}
ENGINES = tuple(ENGINE_BUILDERS)
MODEL_ENGINES = ("openai", "anthropic")
TEST_ENGINE_BUILDERS: dict[str, Callable[[EngineOptions], ContentEngine]] = {
    "scripted": _scripted_engine,
}


def check_engine_name(name: str, known: Collection[str] = ENGINES) -> str:
    """The engine-name rule: case and spaces do not matter; the name must be one of
    ``known`` (the installed engines), and the error lists them."""
    engine = name.strip().lower()
    if engine not in known:
        raise InvalidInput(f"Unknown engine {name!r}; choose one of: {', '.join(ENGINES)}.")
    return engine


def build_content_engine(name: str, options: EngineOptions | None = None) -> ContentEngine:
    """The named engine. A model engine without its key raises NotConfigured here,
    which every entry point calls before anything is reserved."""
    engine = check_engine_name(name)
    options = options or EngineOptions()
    if options.model and engine not in MODEL_ENGINES:
        options = attrs.evolve(options, model=None)  # the local engine has one model
    return ENGINE_BUILDERS[engine](options)


# --- billing and identity ----------------------------------------------------------------
# The vendors' own variable names where they have one; ours for the price ids.

_PRICE_VARS = {
    (Tier.PRO, BillingInterval.MONTH): "REPURPOSEFLOW_STRIPE_PRICE_PRO",
    (Tier.PRO, BillingInterval.YEAR): "REPURPOSEFLOW_STRIPE_PRICE_PRO_YEARLY",
    (Tier.BUSINESS, BillingInterval.MONTH): "REPURPOSEFLOW_STRIPE_PRICE_BUSINESS",
    (Tier.BUSINESS, BillingInterval.YEAR): "REPURPOSEFLOW_STRIPE_PRICE_BUSINESS_YEARLY",
}


def build_billing_gateway(env: Mapping[str, str] | None = None) -> BillingGateway | None:
    """Stripe when ``STRIPE_SECRET_KEY`` is set (``REPURPOSEFLOW_STRIPE_API_BASE``
    points it elsewhere, e.g. a local stand-in); None otherwise."""
    env = os.environ if env is None else env
    secret_key = env.get("STRIPE_SECRET_KEY", "").strip()
    if not secret_key:
        return None
    from repurposeflow.adapters.billing.stripe import StripeBillingGateway, StripeSettings

    prices = {key: env[var].strip() for key, var in _PRICE_VARS.items() if env.get(var, "").strip()}
    return StripeBillingGateway(
        StripeSettings(
            secret_key=secret_key,
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", "").strip() or None,
            prices=prices,
            api_base=env.get("REPURPOSEFLOW_STRIPE_API_BASE", "").strip() or None,
        )
    )


def build_identity_verifier(env: Mapping[str, str] | None = None) -> IdentityVerifier | None:
    """Clerk when ``CLERK_WEBHOOK_SIGNING_SECRET`` or ``CLERK_JWT_KEY`` is set."""
    env = os.environ if env is None else env
    webhook_secret = env.get("CLERK_WEBHOOK_SIGNING_SECRET", "").strip() or None
    jwt_key = env.get("CLERK_JWT_KEY", "").strip() or None
    if webhook_secret is None and jwt_key is None:
        return None
    from repurposeflow.adapters.identity.clerk import ClerkIdentityVerifier, ClerkSettings

    parties = tuple(
        p.strip() for p in env.get("CLERK_AUTHORIZED_PARTIES", "").split(",") if p.strip()
    )
    return ClerkIdentityVerifier(
        ClerkSettings(webhook_secret=webhook_secret, jwt_key=jwt_key, authorized_parties=parties)
    )


@attrs.define
class App:
    """Everything an entry point needs, wired once."""

    settings: Settings
    uow_factory: Callable[[], UnitOfWork]
    clock: Clock
    # None: the installed engines, built with this app's settings (model, base URL, prices).
    engine_factory: Callable[[str], ContentEngine] | None = None
    # A unit of work acting for one signed-in person (row-level security on
    # PostgreSQL); None: the same store as uow_factory.
    user_uow_factory: Callable[[str], UnitOfWork] | None = None
    identity: IdentityVerifier | None = None
    billing: BillingGateway | None = None
    readiness: Callable[[], tuple[bool, str]] = lambda: (True, "not checked")

    def uow(self) -> UnitOfWork:
        return self.uow_factory()

    def user_uow(self, clerk_user_id: str) -> UnitOfWork:
        if self.user_uow_factory is None:
            return self.uow_factory()
        return self.user_uow_factory(clerk_user_id)

    def engine(self, name: str | None = None, model: str | None = None) -> ContentEngine:
        name = name or self.settings.engine
        if self.engine_factory is not None:
            return self.engine_factory(name)
        options = attrs.evolve(EngineOptions.of(self.settings), model=model or self.model_for(name))
        return build_content_engine(name, options)

    def model_for(self, name: str) -> str | None:
        """The model setting that applies to the named engine: the configured model
        belongs to the configured engine only (a request that picks the other provider
        gets that provider's default, not a model it cannot run). None: the price
        table's default for the provider."""
        same = name.strip().lower() == self.settings.engine
        return self.settings.model if same else None

    def engine_for(self, provider: str | None, model: str | None = None) -> ContentEngine:
        """The engine (and model) that wrote a stored generation (``llm_provider``,
        ``llm_model``) when this install has it, else the configured one: regenerating
        keeps a generation's voice."""
        known = provider is not None and provider.strip().lower() in ENGINE_BUILDERS
        if not known:
            return self.engine(None)
        name = provider.strip().lower() if provider else None
        return self.engine(name, model if name in MODEL_ENGINES else None)

    # The durable queue (jobs = "procrastinate"), made on first use: see queue().
    job_queue: ProcrastinateJobRunner | None = None

    def run_job(
        self,
        job: GenerationJob,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        *,
        retry_outage: bool = False,
    ) -> bool:
        """Do the engine work of a started generation, as its owner; False when it was
        no longer pending (nothing done). ``retry_outage``: see ``run_generation``."""
        from repurposeflow.services.charging import fail_and_refund
        from repurposeflow.services.repurpose import RepurposeRequest, run_generation

        try:
            engine = self.engine(job.engine, job.model)
        except (InvalidInput, NotConfigured) as exc:
            # Queued by a process that has an engine (or its key) this one lacks: it can
            # never run here.
            reason = (
                exc.message
                if isinstance(exc, NotConfigured)
                else f"the engine {job.engine!r} is not installed where the job ran"
            )
            settled = fail_and_refund(self.uow_factory(), self.clock, job.generation_id, reason)
            return settled.failed_now
        request = RepurposeRequest(
            job.clerk_user_id, "", user_agent=job.user_agent, ip_address=job.ip_address
        )
        result = run_generation(
            self.user_uow(job.clerk_user_id),
            engine,
            self.clock,
            request,
            job.generation_id,
            on_progress=on_progress,
            max_concurrency=self.settings.concurrency,
            retry_outage=retry_outage,
        )
        return not result.skipped

    def job_runner(
        self,
        on_progress: Callable[[GenerationJob, ProgressEvent], None] | None = None,
        *,
        workers: int = 4,
        max_pending: int = 64,
    ) -> JobRunner:
        """Where started generations go: the durable queue with ``jobs =
        "procrastinate"``, else the in-process pool (``on_progress`` sees every step of
        every job it runs)."""
        if self.settings.queued:
            # Its own, like the pool: shutting one API app down leaves the others be.
            self.queue()  # the setting's check
            return build_job_queue(self, self.settings.database_url)
        from repurposeflow.adapters.jobs import ThreadPoolJobRunner

        def handle(job: GenerationJob) -> None:
            listener = None
            if on_progress is not None:

                def listener(event: ProgressEvent) -> None:
                    on_progress(job, event)

            self.run_job(job, listener)

        return ThreadPoolJobRunner(handle, workers=workers, max_pending=max_pending)

    def progress_listener(
        self, deliver: Callable[[uuid.UUID, ProgressEvent], None]
    ) -> PgProgressListener | None:
        """With the durable queue, generations run in worker processes: a listener
        (``start``/``stop``) that hands ``deliver`` every step any worker publishes.
        None with the inline pool, whose runs call their hub directly."""
        if not self.settings.queued:
            return None
        from repurposeflow.adapters.jobs.notify import PgProgressListener
        from repurposeflow.adapters.jobs.procrastinate import libpq_url

        return PgProgressListener(libpq_url(self.settings.database_url), deliver)

    def queue(self) -> ProcrastinateJobRunner:
        """The durable job queue: deferring on the API side, ``run_worker`` on the
        worker side. InvalidInput unless ``jobs = "procrastinate"``."""
        if self.job_queue is None:
            if not self.settings.queued:
                raise InvalidInput(
                    'This needs the job queue: set jobs = "procrastinate" '
                    "(REPURPOSEFLOW_JOBS=procrastinate) with a PostgreSQL database."
                )
            self.job_queue = build_job_queue(self, self.settings.database_url)
        return self.job_queue

    def webhook_inbox(self) -> WebhookInbox:
        return WebhookInbox(
            self.uow_factory, self.clock, billing=self.billing, identity=self.identity
        )


def build_job_queue(
    app: App,
    database_url: str | None = None,
    *,
    connector: Any | None = None,
    on_progress: Callable[[GenerationJob, ProgressEvent], None] | None = None,
    **options: Any,
) -> ProcrastinateJobRunner:
    """The procrastinate job runner whose worker runs jobs through ``app``
    (``connector``: procrastinate's InMemoryConnector in tests). Every step of a run
    goes to ``on_progress``; on PostgreSQL by default it is NOTIFYed, for the API
    processes that LISTEN (``App.progress_listener``)."""
    from repurposeflow.adapters.jobs.procrastinate import ProcrastinateJobRunner, libpq_url

    if on_progress is None and database_url is not None:
        from repurposeflow.adapters.jobs.notify import PgProgressPublisher

        publisher = PgProgressPublisher(libpq_url(database_url))

        def on_progress(job: GenerationJob, event: ProgressEvent) -> None:
            publisher.publish(job.generation_id, event)

    def handle(job: GenerationJob, *, retry_outage: bool) -> bool:
        listener = None
        if on_progress is not None:

            def listener(event: ProgressEvent) -> None:
                on_progress(job, event)

        return app.run_job(job, listener, retry_outage=retry_outage)

    return ProcrastinateJobRunner(handle, database_url=database_url, connector=connector, **options)


def make_database_engine(database_url: str) -> Any:
    """A SQLAlchemy engine; an embedded SQLite file gets its folder made first."""
    from repurposeflow.adapters.sql import make_engine

    if database_url.startswith("sqlite:///"):
        folder = Path(database_url.removeprefix("sqlite:///")).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(
                f"Cannot create the folder {folder} for the database: {exc.strerror}. "
                "Set REPURPOSEFLOW_HOME to a folder you can write."
            ) from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InvalidInput(
                f"Cannot write in {folder} (the database's folder). "
                "Set REPURPOSEFLOW_HOME to a folder you can write."
            )
    return make_engine(database_url)


def migrate(settings: Settings, revision: str = "head") -> str | None:
    """Migrate the configured database to ``revision`` (alembic's names: ``head``, an id);
    returns the revision it is at afterwards."""
    from repurposeflow.adapters.sql import current_revision, upgrade_database

    engine = make_database_engine(settings.trusted_database_url)
    upgrade_database(engine, revision)
    return current_revision(engine)


def ensure_queue_schema(settings: Settings) -> bool:
    """Apply the job queue's own schema (procrastinate's tables and functions) unless it
    is there; True when this call applied it. Only with ``jobs = "procrastinate"``."""
    from repurposeflow.adapters.jobs.procrastinate import ProcrastinateJobRunner

    if not settings.queued:
        return False
    runner = ProcrastinateJobRunner(
        lambda job, *, retry_outage: False, database_url=settings.trusted_database_url
    )
    return runner.ensure_schema()


def _partition_upkeep(settings: Settings, work: Callable[[Any], Any]) -> Any:
    """Run ``work(connection)`` in one transaction as the login role (the tables'
    owner), after bringing the schema to head; None on anything but PostgreSQL."""
    if settings.database_url.startswith("memory:"):
        return None
    from repurposeflow.adapters.sql import ensure_schema
    from repurposeflow.adapters.sql.engine import UNAVAILABLE_ERRORS, unavailable

    engine = make_database_engine(settings.database_url)
    try:
        if engine.dialect.name != "postgresql":
            return None
        ensure_schema(engine)
        try:
            with engine.begin() as conn:
                return work(conn)
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(engine, exc) from exc
    finally:
        engine.dispose()


def ensure_partitions(
    settings: Settings, months_ahead: int = 3, *, today: date | None = None
) -> PartitionReport | None:
    """Create the monthly partitions of generations and usage_logs for this month and
    the next ``months_ahead`` (rows of a month that sat in the default partition move
    into its new partition). Idempotent: for cron. None: not PostgreSQL (SQLite is
    never partitioned)."""
    if months_ahead < 0:
        raise InvalidInput("--months-ahead must not be negative.")
    from repurposeflow.adapters.sql import partitions

    report: PartitionReport | None = _partition_upkeep(
        settings, lambda conn: partitions.ensure_partitions(conn, months_ahead, today=today)
    )
    return report


def drop_partitions(
    settings: Settings, before: date, *, detach: bool = False, today: date | None = None
) -> PartitionReport | None:
    """Retention by whole months: archive and drop (or detach) every monthly partition
    that ends on or before ``before``'s month. Months still in progress are refused.
    None: not PostgreSQL."""
    current = (today or datetime.now(UTC).date()).replace(day=1)
    if before.replace(day=1) > current:
        raise InvalidInput(
            f"--before {before:%Y-%m} is after this month ({current:%Y-%m}): only months "
            "that have ended can leave."
        )
    from repurposeflow.adapters.sql import partitions

    report: PartitionReport | None = _partition_upkeep(
        settings, lambda conn: partitions.drop_partitions_before(conn, before, detach=detach)
    )
    return report


def schema_revision(settings: Settings) -> str | None:
    """The configured database's schema revision; None for an empty database."""
    from repurposeflow.adapters.sql import current_revision

    return current_revision(make_database_engine(settings.trusted_database_url))


@attrs.frozen
class Stores:
    system: Callable[[], UnitOfWork]
    # Acting for one signed-in person (row-level security); None: same as system.
    per_user: Callable[[str], UnitOfWork] | None
    # (ready, detail): the database answers and its schema is the newest.
    readiness: Callable[[], tuple[bool, str]]


def build_stores(
    database_url: str, *, migrate: bool = True, system_database_url: str | None = None
) -> Stores:
    """``memory://`` for a throwaway in-process store, else a SQLAlchemy URL.
    ``system_database_url``: a second login for the trusted path (see Settings)."""
    if database_url.startswith("memory:"):
        from repurposeflow.adapters.memory import MemoryStore

        return Stores(MemoryStore().uow, None, lambda: (True, "in-memory store"))
    from repurposeflow.adapters.sql import (
        HEAD_REVISION,
        SqlUnitOfWork,
        current_revision,
        ensure_schema,
    )

    engine = make_database_engine(database_url)
    trusted = (
        make_database_engine(system_database_url)
        if system_database_url and system_database_url != database_url
        else engine
    )
    if migrate:
        ensure_schema(trusted)

    def readiness() -> tuple[bool, str]:
        try:
            revision = current_revision(trusted)
            if trusted is not engine:
                with engine.connect() as conn:  # the people's login answers too
                    conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # whatever the driver says, the answer is "not ready"
            return False, f"database unavailable ({type(exc).__name__})"
        if revision != HEAD_REVISION:
            return False, f"schema at {revision or 'nothing'}, expected {HEAD_REVISION}"
        return True, f"schema at {HEAD_REVISION}"

    return Stores(
        lambda: SqlUnitOfWork(trusted),
        lambda clerk_user_id: SqlUnitOfWork(engine, acting_as=clerk_user_id),
        readiness,
    )


def build_uow_factory(database_url: str, *, migrate: bool = True) -> Callable[[], UnitOfWork]:
    return build_stores(database_url, migrate=migrate).system


class _LocalPlanUsers:
    """The users repository with the local person's plan as ``REPURPOSEFLOW_TIER`` says,
    in this process only: reads show it and reservations count against its limit, but
    nothing of it is stored, so it ends when the setting goes and no billing event ever
    has to undo it."""

    def __init__(self, inner: UserRepository, clerk_user_id: str, tier: Tier) -> None:
        self._inner = inner
        self._clerk_user_id = clerk_user_id
        self._tier = tier
        self._limit = limit_for(tier)

    def __getattr__(self, name: str) -> Any:  # everything else is the store's own
        return getattr(self._inner, name)

    def _shown(self, user: User | None) -> User | None:
        if user is None or user.clerk_user_id != self._clerk_user_id:
            return user
        return attrs.evolve(
            user,
            subscription_tier=self._tier,
            subscription_status=SubscriptionStatus.ACTIVE,
            generations_limit=self._limit,
        )

    def _is_local(self, user_id: uuid.UUID) -> bool:
        user = self._inner.get(user_id)
        return user is not None and user.clerk_user_id == self._clerk_user_id

    def get(self, user_id: uuid.UUID) -> User | None:
        return self._shown(self._inner.get(user_id))

    def get_by_clerk_id(self, clerk_user_id: str) -> User | None:
        return self._shown(self._inner.get_by_clerk_id(clerk_user_id))

    def get_for_update(self, user_id: uuid.UUID) -> User | None:
        return self._shown(self._inner.get_for_update(user_id))

    def add_if_absent(self, user: User) -> User:
        shown = self._shown(self._inner.add_if_absent(user))
        assert shown is not None
        return shown

    def reserve(
        self, user_id: uuid.UUID, now: datetime, *, limit: int | None = None
    ) -> Quota | None:
        if limit is None and self._is_local(user_id):
            limit = self._limit
        return self._inner.reserve(user_id, now, limit=limit)


class _LocalPlanUnitOfWork:
    def __init__(self, inner: UnitOfWork, clerk_user_id: str, tier: Tier) -> None:
        self._inner = inner
        self._plan = (clerk_user_id, tier)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def users(self) -> UserRepository:
        return cast(UserRepository, _LocalPlanUsers(self._inner.users, *self._plan))

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)


def with_local_plan(
    factory: Callable[[], UnitOfWork], clerk_user_id: str, tier: Tier
) -> Callable[[], UnitOfWork]:
    """Units of work in which ``clerk_user_id`` is on ``tier`` while this process runs."""
    return lambda: cast(UnitOfWork, _LocalPlanUnitOfWork(factory(), clerk_user_id, tier))


def bootstrap(settings: Settings | None = None, *, migrate: bool = True) -> App:
    settings = settings or load_settings()
    stores = build_stores(
        settings.database_url, migrate=migrate, system_database_url=settings.system_database_url
    )
    system = stores.system
    if settings.tier is not None:
        system = with_local_plan(system, settings.user, settings.tier)
    return App(
        settings=settings,
        uow_factory=system,
        clock=SystemClock(),
        user_uow_factory=stores.per_user,
        readiness=stores.readiness,
        billing=build_billing_gateway(),
        identity=build_identity_verifier(),
    )


# --- HTTP settings -------------------------------------------------------------------


@attrs.frozen
class HttpSettings:
    """What only the HTTP entry point needs; ``REPURPOSEFLOW_*`` variables, lists
    comma-separated."""

    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    admin_users: tuple[str, ...] = ()
    max_body_bytes: int = 2 * 1024 * 1024
    rate_limit_ip: str = "600/minute"
    rate_limit_user: str = "120/minute"
    rate_limit_storage: str = "memory://"
    dev_user: str | None = None
    job_workers: int = 4
    job_queue: int = 64
    max_wait_seconds: int = 60
    # Import the model SDKs at start-up, before the first request (see warm_up_engines).
    # It runs before serving, never beside other work: CPython 3.11's ast module keeps
    # its recursion count per interpreter, and an ast.parse in one thread while another
    # imported those SDKs failed a test collection once ("AST constructor recursion
    # depth mismatch"). Tests that build many apps turn it off to save the seconds.
    warm_up: bool = True


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def load_http_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> HttpSettings:
    env = os.environ if env is None else env
    defaults = HttpSettings()

    def get(key: str) -> str | None:
        return env.get(_ENV_PREFIX + key.upper()) or None

    def number(key: str, default: int, low: int, high: int) -> int:
        raw = get(key)
        try:
            value = int(raw) if raw is not None else default
        except ValueError:
            raise InvalidInput(f"{_ENV_PREFIX}{key.upper()} must be a whole number.") from None
        if not low <= value <= high:
            raise InvalidInput(f"{_ENV_PREFIX}{key.upper()} must be between {low} and {high}.")
        return value

    values: dict[str, Any] = {
        "cors_origins": _csv(get("cors_origins")),
        "trusted_proxies": _csv(get("trusted_proxies")),
        "admin_users": _csv(get("admin_users")),
        "max_body_bytes": number("max_body_bytes", defaults.max_body_bytes, 1024, 1 << 30),
        "rate_limit_ip": get("rate_limit_ip") or defaults.rate_limit_ip,
        "rate_limit_user": get("rate_limit_user") or defaults.rate_limit_user,
        "rate_limit_storage": get("rate_limit_storage") or defaults.rate_limit_storage,
        "dev_user": get("dev_user"),
        "job_workers": number("job_workers", defaults.job_workers, 1, 256),
        "job_queue": number("job_queue", defaults.job_queue, 0, 100_000),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return HttpSettings(**values)
