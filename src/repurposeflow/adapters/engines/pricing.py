"""The price table: USD per million tokens per provider and model, from the data file
shipped in the package (``prices.toml``) with a person's own file laid over it.

Money is Decimal from the file's strings on: a price read as a float would already be
off by the time it is multiplied by a million tokens."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import attrs

from repurposeflow.domain.engine import Price
from repurposeflow.domain.errors import InvalidInput

PROVIDERS = ("openai", "anthropic")
_FIELDS = ("input", "cached_input", "output", "cache_write")


@attrs.frozen
class Catalogue:
    models: Mapping[str, Mapping[str, Price]]
    preferred: Mapping[str, tuple[str, ...]]

    def price(self, provider: str, model: str) -> Price | None:
        """The model's price, or None: its cost is then unknown, never 0."""
        return self.models.get(provider, {}).get(model)

    def default_model(self, provider: str) -> str:
        """The first preferred model the installed SDK knows (a retired name drops out
        when the SDK drops it); the first preferred one if the SDK lists none."""
        preferred = self.preferred.get(provider) or tuple(self.models.get(provider, {}))
        if not preferred:
            raise InvalidInput(f"The price table names no model for {provider}.")
        known = sdk_models(provider)
        for model in preferred:
            if not known or model in known:
                return model
        return preferred[0]


def sdk_models(provider: str) -> frozenset[str]:
    """The model names the installed SDK spells out (its typing literals)."""
    try:
        if provider == "openai":
            from openai.types.shared.chat_model import ChatModel

            return frozenset(get_args(ChatModel))
        if provider == "anthropic":
            from anthropic.types.model_param import ModelParam

            names: set[str] = set()
            for arg in get_args(ModelParam):
                names.update(a for a in get_args(arg) if isinstance(a, str))
            return frozenset(names)
    except ImportError:
        pass
    return frozenset()


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"{where} must be a number of USD per million tokens.")
    try:
        # str() first: a TOML float like 0.1 becomes Decimal("0.1"), not 0.1000000000000000055
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{where} must be a number, not {value!r}.") from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(f"{where} must be a price of 0 or more, not {value!r}.")
    return number


def _parse(data: Mapping[str, Any], origin: str) -> tuple[dict[str, dict[str, Price]], dict]:
    models: dict[str, dict[str, Price]] = {}
    preferred: dict[str, tuple[str, ...]] = {}
    for provider, section in data.items():
        if provider not in PROVIDERS or not isinstance(section, Mapping):
            raise InvalidInput(
                f"{origin}: unknown provider section [{provider}] (known: {', '.join(PROVIDERS)})."
            )
        if "preferred" in section:
            names = section["preferred"]
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise InvalidInput(f"{origin}: [{provider}] preferred must be a list of names.")
            preferred[provider] = tuple(names)
        for model, row in (section.get("models") or {}).items():
            where = f"{origin}: {provider} {model}"
            if not isinstance(row, Mapping):
                raise InvalidInput(f"{where} must be a table of prices.")
            unknown = set(row) - set(_FIELDS)
            if unknown:
                raise InvalidInput(f"{where} has unknown fields: {', '.join(sorted(unknown))}.")
            missing = [f for f in ("input", "cached_input", "output") if f not in row]
            if missing:
                raise InvalidInput(f"{where} needs {', '.join(missing)}.")
            models.setdefault(provider, {})[model] = Price(
                input=_decimal(row["input"], f"{where} input"),
                cached_input=_decimal(row["cached_input"], f"{where} cached_input"),
                output=_decimal(row["output"], f"{where} output"),
                cache_write=(
                    _decimal(row["cache_write"], f"{where} cache_write")
                    if "cache_write" in row
                    else None
                ),
            )
    return models, preferred


@lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, dict[str, Price]], dict]:
    text = resources.files("repurposeflow.adapters.engines").joinpath("prices.toml").read_text()
    return _parse(tomllib.loads(text), "prices.toml")


def load_catalogue(override: Path | str | None = None) -> Catalogue:
    """The shipped table, with ``override`` (a TOML file of the same shape) laid over it
    model by model."""
    shipped_models, shipped_preferred = _shipped()
    models = {p: dict(m) for p, m in shipped_models.items()}
    preferred = dict(shipped_preferred)
    if override:
        path = Path(override).expanduser()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"The price file {path} does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"Cannot read the price file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"The price file {path} is not valid TOML: {exc}") from None
        extra_models, extra_preferred = _parse(data, str(path))
        for provider, rows in extra_models.items():
            models.setdefault(provider, {}).update(rows)
        preferred.update(extra_preferred)
    return Catalogue(models, preferred)
