"""The one place that reads settings and wires adapters to the services.

Settings come from, highest first: explicit overrides (CLI flags), environment
variables ``REPURPOSEFLOW_*``, the config file (``REPURPOSEFLOW_CONFIG`` or
``<user config dir>/repurposeflow/config.toml``), then defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import platformdirs

from repurposeflow.adapters.clock import SystemClock
from repurposeflow.domain.enums import Tier
from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.ports import Clock, ContentEngine, UnitOfWork

ENGINES = ("local", "openai", "anthropic", "scripted")
_ENV_PREFIX = "REPURPOSEFLOW_"
_KEYS = ("home", "database_url", "engine", "user", "email", "tier", "concurrency")


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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"The config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise InvalidInput(
            f"The config file {path} has unknown keys: {', '.join(unknown)} "
            f"(known: {', '.join(_KEYS)})."
        )
    return data


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if env is None else env
    config_path = Path(env.get(f"{_ENV_PREFIX}CONFIG") or default_config_file())
    values: dict[str, Any] = dict(_read_config(config_path))
    for key in _KEYS:
        if env.get(_ENV_PREFIX + key.upper()):
            values[key] = env[_ENV_PREFIX + key.upper()]
    values.update({k: v for k, v in overrides.items() if v is not None})

    home = Path(values.get("home") or default_home()).expanduser()
    engine = check_engine_name(str(values.get("engine", "local")))
    try:
        concurrency = int(values.get("concurrency", 6))
    except (TypeError, ValueError):
        raise InvalidInput("concurrency must be a whole number.") from None
    if not 1 <= concurrency <= 32:
        raise InvalidInput("concurrency must be between 1 and 32.")
    tier = Tier.parse(values["tier"]) if values.get("tier") else None
    return Settings(
        home=home,
        database_url=str(values.get("database_url") or f"sqlite:///{home / 'repurposeflow.db'}"),
        engine=engine,
        user=str(values.get("user", "local")),
        email=str(values.get("email", "you@localhost")),
        tier=tier,  # type: ignore[arg-type]
        concurrency=concurrency,
        config_file=config_path,
    )


def check_engine_name(name: str) -> str:
    engine = name.strip().lower()
    if engine not in ENGINES:
        raise InvalidInput(f"Unknown engine {name!r}; choose one of: {', '.join(ENGINES)}.")
    return engine


def build_content_engine(name: str) -> ContentEngine:
    name = check_engine_name(name)
    if name == "local":
        from repurposeflow.adapters.engines.local import LocalEngine

        return LocalEngine()
    if name == "scripted":
        from repurposeflow.adapters.engines.scripted import ScriptedEngine

        return ScriptedEngine()
    # The OpenAI and Anthropic engines arrive with roadmap step [4/7].
    raise InvalidInput(
        f"The {name} engine is not part of this version yet; use --engine local "
        "(offline, no key needed)."
    )


@attrs.define
class App:
    """Everything an entry point needs, wired once."""

    settings: Settings
    uow_factory: Callable[[], UnitOfWork]
    clock: Clock
    engine_factory: Callable[[str], ContentEngine] = build_content_engine

    def uow(self) -> UnitOfWork:
        return self.uow_factory()

    def engine(self, name: str | None = None) -> ContentEngine:
        return self.engine_factory(name or self.settings.engine)


def make_database_engine(database_url: str) -> Any:
    """A SQLAlchemy engine; an embedded SQLite file gets its folder made first."""
    from repurposeflow.adapters.sql import make_engine

    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).expanduser().parent.mkdir(
            parents=True, exist_ok=True
        )
    return make_engine(database_url)


def build_uow_factory(database_url: str, *, migrate: bool = True) -> Callable[[], UnitOfWork]:
    """``memory://`` for a throwaway in-process store, else a SQLAlchemy URL."""
    if database_url.startswith("memory:"):
        from repurposeflow.adapters.memory import MemoryStore

        return MemoryStore().uow
    from repurposeflow.adapters.sql import SqlUnitOfWork, ensure_schema

    engine = make_database_engine(database_url)
    if migrate:
        ensure_schema(engine)
    return lambda: SqlUnitOfWork(engine)


def bootstrap(settings: Settings | None = None, *, migrate: bool = True) -> App:
    settings = settings or load_settings()
    return App(
        settings=settings,
        uow_factory=build_uow_factory(settings.database_url, migrate=migrate),
        clock=SystemClock(),
    )
