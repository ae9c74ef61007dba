"""/v1/engines and /v1/estimates: what this server can run, and what a generation would
cost before it runs (the same counting as ``repurpose --dry-run``; no model is called
and nothing is charged)."""

from __future__ import annotations

import attrs
from fastapi import APIRouter

from repurposeflow.bootstrap import (
    ENGINES,
    MODEL_ENGINES,
    App,
    check_engine_name,
    estimate_cost,
    missing_engine_key,
    price_catalogue,
)
from repurposeflow.domain.enums import Platform
from repurposeflow.domain.errors import InvalidInput
from repurposeflow.domain.model import TokenUsage
from repurposeflow.domain.text import check_input, parse_platforms
from repurposeflow.entrypoints.http.deps import CallerDep, StateDep
from repurposeflow.entrypoints.http.routes.generations import PROBLEMS
from repurposeflow.entrypoints.http.schemas import (
    EngineOut,
    EnginesOut,
    EstimateCallOut,
    EstimateCreate,
    EstimateOut,
    ModelPriceOut,
    TokenUsageOut,
)

router = APIRouter(prefix="/v1", tags=["engines"])

FREE_NOTE = "The {name} engine runs on this server: it costs no tokens and no money."
ESTIMATE_NOTE = (
    "An estimate: no model was called and none of your quota was used. Tokens {counter}; "
    "outputs at typical sizes."
)
UNPRICED_NOTE = (
    " No price for {model}: its cost is unknown (the server's prices setting can add one)."
)


def _engine_names(app: App) -> list[str]:
    """The server's engine first, then the installed ones (a host's or a test's own
    engine is listed when it is the server's default)."""
    default = app.settings.engine
    return [default, *(name for name in ENGINES if name != default)]


def _usage(u: TokenUsage) -> dict[str, object]:
    return {
        "input_tokens": u.input_tokens,
        "cached_input_tokens": u.cached_input_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "output_tokens": u.output_tokens,
        # None stays None: an unknown price is never shown as $0.
        "estimated_cost_usd": str(u.cost_usd) if u.cost_usd is not None else None,
    }


def _check_model(name: str, model: str | None, app: App) -> None:
    """A model of the other provider is a mix-up, said in the API's words (an unknown
    model of this provider is fine: its cost is then unknown)."""
    if not model:
        return
    models = price_catalogue(app.settings).models
    elsewhere = [p for p, names in models.items() if p != name and model in names]
    if elsewhere:
        raise InvalidInput(
            f"{model!r} is a model of the {elsewhere[0]} engine; choose that engine, or one "
            f"of the {name} engine's models: {', '.join(models.get(name, {}))}."
        )


@router.get(
    "/engines",
    response_model=EnginesOut,
    responses=PROBLEMS,
    summary="The engines this server offers, their models and prices",
)
def list_engines(caller: CallerDep, state: StateDep) -> EnginesOut:
    """Each engine with the model this server runs for it, the priced models (USD per
    million tokens, as strings), and whether it can run here now: a model engine needs
    its key (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``) in the server's environment."""
    app = state.app
    catalogue = price_catalogue(app.settings)
    engines = []
    for name in _engine_names(app):
        if name not in MODEL_ENGINES:
            engines.append(
                EngineOut(
                    name=name,
                    kind="local",
                    default=name == app.settings.engine,
                    model=app.engine(name).model,
                    models=[],
                    available=True,
                    unavailable_reason=None,
                )
            )
            continue
        missing = missing_engine_key(name)
        engines.append(
            EngineOut(
                name=name,
                kind="model",
                default=name == app.settings.engine,
                model=app.model_for(name) or catalogue.default_model(name),
                models=[
                    ModelPriceOut(
                        name=model,
                        input=str(price.input),
                        cached_input=str(price.cached_input),
                        output=str(price.output),
                        cache_write=str(price.cache_write)
                        if price.cache_write is not None
                        else None,
                    )
                    for model, price in catalogue.models.get(name, {}).items()
                ],
                available=missing is None,
                unavailable_reason=f"set {missing} on the server" if missing else None,
            )
        )
    return EnginesOut(engines=engines)


@router.post(
    "/estimates",
    response_model=EstimateOut,
    responses=PROBLEMS,
    summary="What a generation would cost, before it runs (free)",
)
def create_estimate(body: EstimateCreate, caller: CallerDep, state: StateDep) -> EstimateOut:
    """The real prompts of every call (the analysis, then one per platform) counted and
    priced, as `repurpose --dry-run` does. No model is called, no key is needed and
    none of your quota is used. `estimated_cost_usd` is null when the model has no
    price; the local engine costs "0"."""
    app = state.app
    name = check_engine_name(body.engine, (*ENGINES, app.settings.engine))
    source = check_input(body.text)
    platforms = parse_platforms(body.platforms) if body.platforms else tuple(Platform)
    tone = body.tone or caller.user.voice.default_tone
    if name not in MODEL_ENGINES:
        model = app.engine(name).model
        if body.model is not None and body.model != model:
            raise InvalidInput(
                f"model is for the model engines ({', '.join(MODEL_ENGINES)}); "
                f"the {name} engine runs {model}."
            )
        return EstimateOut(
            engine=name,
            model=model,
            counted_with=None,
            calls=[],
            total=TokenUsageOut.model_validate(_usage(TokenUsage())),
            note=FREE_NOTE.format(name=name),
        )
    settings = attrs.evolve(app.settings, engine=name, model=body.model or app.model_for(name))
    _check_model(name, body.model, app)
    estimate = estimate_cost(settings, source, platforms, tone, voice=caller.user.voice)
    total = estimate.total
    note = ESTIMATE_NOTE.format(counter=estimate.counter)
    if total.cost_usd is None:
        note += UNPRICED_NOTE.format(model=estimate.model)
    return EstimateOut(
        engine=estimate.provider,
        model=estimate.model,
        counted_with=estimate.counter,
        calls=[
            EstimateCallOut.model_validate({"call": c.name, **_usage(c.usage)})
            for c in estimate.calls
        ],
        total=TokenUsageOut.model_validate(_usage(total)),
        note=note,
    )
