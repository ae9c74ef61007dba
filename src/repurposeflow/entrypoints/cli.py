"""The ``repurposeflow`` command line: typer for the commands, rich for what people see.

Results go to stdout (pipe them); progress, notes and errors go to stderr. Every
error is one readable line and a non-zero exit, never a traceback (set
REPURPOSEFLOW_DEBUG=1 to see one).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from repurposeflow import __version__
from repurposeflow.bootstrap import (
    ENGINES,
    MODEL_ENGINES,
    App,
    EngineOptions,
    Settings,
    bootstrap,
    build_content_engine,
    drop_partitions,
    ensure_partitions,
    ensure_queue_schema,
    estimate_cost,
    is_ephemeral,
    load_settings,
    migrate,
    missing_engine_key,
    price_catalogue,
    schema_revision,
)
from repurposeflow.domain.enums import (
    GenerationStatus,
    Platform,
    SubscriptionStatus,
    Tone,
    WebhookSource,
)
from repurposeflow.domain.errors import (
    InvalidInput,
    NotConfigured,
    NotFound,
    QuotaExhausted,
    RepurposeFlowError,
    RequestInFlight,
    StoreUnavailable,
    WebhookRejected,
)
from repurposeflow.domain.jobs import GenerationJob
from repurposeflow.domain.model import Generation, TokenUsage, User
from repurposeflow.domain.platforms import (
    INSTAGRAM_DEFAULT_HASHTAG_CAP,
    INSTAGRAM_HARD_HASHTAG_CAP,
)
from repurposeflow.domain.ports import BillingGateway, ContentEngine
from repurposeflow.domain.progress import ProgressEvent, ProgressKind
from repurposeflow.domain.quota import display_limit
from repurposeflow.domain.text import (
    MAX_INPUT_BYTES,
    MAX_INPUT_CHARS,
    check_input,
    decode_input,
    parse_platforms,
)
from repurposeflow.domain.webhooks import WebhookOutcome, WebhookReceipt
from repurposeflow.entrypoints.present import (
    TITLES,
    generation_dict,
    generation_json,
    generation_markdown,
    platform_markdown,
    usage_line,
)
from repurposeflow.services import billing as billing_service
from repurposeflow.services import history, maintenance, users
from repurposeflow.services import usage as usage_service
from repurposeflow.services.repurpose import (
    RepurposeRequest,
    RepurposeResult,
    enqueue_generation,
    regenerate,
    repurpose,
    start_generation,
)


class _Stdout(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (``| head``): stop quietly with status 0, as standard
        tools do (rich's own answer is exit 1)."""
        self.quiet = True
        _reader_went_away(broken=True)
        raise SystemExit(0)


out = _Stdout(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="repurposeflow",
    help="Turn one long piece of writing into posts for TikTok, X, Threads, LinkedIn, "
    "Instagram and email.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: migrate, inspect, seed.", no_args_is_help=True)
retention_app = typer.Typer(help="Data retention.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(retention_app, name="retention")


class OutputFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


JOIN_POLL_S = 0.25
MAX_WEBHOOK_BYTES = 2 * 1024 * 1024  # as REPURPOSEFLOW_MAX_BODY_BYTES over HTTP

PLATFORM_HELP = f"Platform to write for (repeat it; default all): {', '.join(Platform.values())}."
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text (for reading), markdown or json.")
]


# --- wiring -------------------------------------------------------------------------


def _app(*, migrate: bool = True) -> App:
    return bootstrap(load_settings(), migrate=migrate)


def _local_user(app_: App) -> User:
    """The person at this terminal: created on first use, on the free tier. A tier in
    the settings applies while it is set (bootstrap overlays it) and is never stored."""
    s = app_.settings
    return users.ensure_user(app_.uow(), app_.clock, clerk_user_id=s.user, email=s.email)


def _read_bounded(stream: BinaryIO, source: str) -> str:
    """At most the size limit plus one byte: /dev/zero or an endless pipe is refused,
    not read into memory."""
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInput(
            f"{source} is too large: the limit is {MAX_INPUT_CHARS:,} characters. "
            "Split it into parts and repurpose each."
        )
    return decode_input(data, source)


def _read_source(path: str) -> str:
    if path == "-":
        return _read_bounded(sys.stdin.buffer, "standard input")
    file = Path(path).expanduser()
    if file.is_dir():
        raise InvalidInput(f"{path} is a directory; give a text, Markdown or HTML file.")
    try:
        with file.open("rb") as stream:
            return _read_bounded(stream, path)
    except FileNotFoundError:
        raise InvalidInput(f"No such file: {path}") from None
    except PermissionError:
        raise InvalidInput(f"Cannot read {path}: permission denied.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory; give a text, Markdown or HTML file.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}.") from None


def _check_out_dir(directory: Path) -> Path:
    """The output folder, made and proven writable before anything is charged."""
    shown = str(directory)
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"--out {shown} exists and is not a folder.")
    for parent in directory.parents:
        if parent.exists() and not parent.is_dir():
            raise InvalidInput(f"--out {shown} is under {parent}, which is a file.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"Cannot create --out {shown}: {exc.strerror or exc}.") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InvalidInput(f"Cannot write in --out {shown}: permission denied.")
    return directory


class _ProgressView:
    """Per-platform progress on stderr; events arrive from worker threads."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        name = TITLES[event.platform] if event.platform else ""
        line = {
            ProgressKind.ANALYZING: "[dim]Reading the source…[/]",
            ProgressKind.RENDERING: f"[dim]  writing {name}…[/]",
            ProgressKind.REPAIRING: (
                f"[yellow]  ↻ {name}: fixing {escape('; '.join(event.violations))}[/]"
            ),
            ProgressKind.RENDERED: f"[green]  ✓ {name}[/]",
            ProgressKind.PLATFORM_FAILED: f"[red]  ✗ {name}: {escape(event.detail)}[/]",
            ProgressKind.NOTE: f"[yellow]Note: {escape(event.detail)}[/]",
        }.get(event.kind)
        if line:
            with self.lock:
                self.console.print(line)


def _print_generation(
    gen: Generation, fmt: OutputFormat, platforms: tuple[Platform, ...] | None = None
) -> None:
    if fmt is OutputFormat.json:
        out.print(generation_json(gen), markup=False)
        return
    if gen.llm_provider in MODEL_ENGINES:
        err.print(f"[dim]{escape(usage_line(gen))}[/]")
    text = generation_markdown(gen, platforms)
    if fmt is OutputFormat.markdown:
        out.print(text, markup=False)
        return
    for platform in platforms or gen.selected_platforms:
        if platform in gen.outputs:
            out.rule(f"[bold]{TITLES[platform]}[/]", align="left")
            out.print(platform_markdown(platform, gen.outputs[platform], plain=True), markup=False)
        elif platform in gen.platform_errors:
            out.rule(f"[bold red]{TITLES[platform]}[/]", align="left")
            out.print(f"Not generated: {gen.platform_errors[platform]}\n", markup=False)


def _title_of(text: str) -> str:
    """The first line of prose: front matter rules, markup and blank lines skipped."""
    for line in text.splitlines():
        line = re.sub(r"<[^>]+>", "", line).strip().lstrip("#>*-+ ").strip()
        if re.search(r"\w", line) and ":" not in line[:20].split(" ")[0]:
            return line[:60]
    return text.strip()[:60]


def _write_files(gen: Generation, directory: Path, fmt: OutputFormat) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for platform in gen.delivered:
        if fmt is OutputFormat.json:
            path = directory / f"{platform.value}.json"
            path.write_text(json.dumps(dict(gen.outputs[platform]), indent=2, ensure_ascii=False))
        else:
            path = directory / f"{platform.value}.md"
            body = platform_markdown(platform, gen.outputs[platform])
            path.write_text(f"# {TITLES[platform]}\n\n{body}", encoding="utf-8")
        written.append(path)
    return written


def _usage_line(app_: App) -> str:
    s = usage_service.usage_summary(app_.uow(), app_.clock, app_.settings.user)
    return (
        f"{s.used} of {display_limit(s.limit)} generations used this month "
        f"({s.tier.value} plan, resets {s.resets_at:%Y-%m-%d})"
    )


# --- commands -------------------------------------------------------------------------


@app.command("repurpose")
def repurpose_command(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="The text, Markdown or HTML file; - reads stdin.")
    ],
    platform: Annotated[
        list[str] | None, typer.Option("--platform", "-p", help=PLATFORM_HELP)
    ] = None,
    tone: Annotated[
        str | None,
        typer.Option(
            "--tone",
            "-t",
            help="conversational, educational, opinionated or authority (default: yours).",
        ),
    ] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", "-e", help=f"One of: {', '.join(ENGINES)}.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="The model, for openai and anthropic (see: repurposeflow engines).",
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write one file per platform here.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help='Queue it for a worker (jobs = "procrastinate") and print its id at once.',
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the calls, tokens and estimated cost; call no model, charge nothing.",
        ),
    ] = False,
) -> None:
    """Repurpose FILE into posts for every platform (or the ones you pick)."""
    # Every input is checked before anything is reserved: a bad one costs nothing.
    settings = load_settings(engine=engine, model=model)
    if model is not None and settings.engine not in MODEL_ENGINES:
        raise InvalidInput(
            f"--model is for the model engines ({', '.join(MODEL_ENGINES)}); "
            f"the {settings.engine} engine has one model."
        )
    if dry_run:
        source = check_input(_read_source(file))
        chosen = parse_platforms(platform) if platform else tuple(Platform)
        _print_estimate(settings, source, chosen, Tone.parse(tone) if tone else None, fmt)
        return
    if queue and not settings.queued:
        raise InvalidInput(
            '--queue needs the job queue: set jobs = "procrastinate" '
            "(REPURPOSEFLOW_JOBS=procrastinate) with a PostgreSQL database, and run "
            "`repurposeflow worker`."
        )
    content_engine = build_content_engine(settings.engine, EngineOptions.of(settings))
    source = check_input(_read_source(file))
    platforms = parse_platforms(platform) if platform else None
    if tone is not None:
        Tone.parse(tone)
    if out_dir is not None:
        _check_out_dir(out_dir.expanduser())
    app_ = bootstrap(settings)
    _local_user(app_)
    request = RepurposeRequest(app_.settings.user, source, platforms=platforms, tone=tone)
    if queue:
        _queue_generation(app_, content_engine, request, fmt, quiet)
        return
    joined = False

    def run_it() -> RepurposeResult:
        return repurpose(
            app_.uow(),
            content_engine,
            app_.clock,
            request,
            on_progress=_ProgressView(err, quiet),
            max_concurrency=app_.settings.concurrency,
        )

    with _refund_survives_ctrl_c():
        try:
            result = run_it()
        except RequestInFlight as busy:
            twin = _join(app_, busy, quiet)
            joined = twin is not None
            result = twin if twin is not None else run_it()
    gen = result.generation
    if gen.status is GenerationStatus.FAILED:
        raise RepurposeFlowError(
            f"Nothing was generated ({gen.error_message}); your quota was not charged."
        )
    _print_generation(gen, fmt)
    if out_dir is not None:
        try:
            written = _write_files(gen, out_dir.expanduser(), fmt)
        except OSError as exc:
            raise RepurposeFlowError(
                f"Could not write the files ({exc.strerror or exc}); the generation is "
                f"saved: repurposeflow show {gen.id}"
            ) from None
        for path in written:
            err.print(f"[dim]wrote {escape(str(path))}[/]")
    if gen.status is GenerationStatus.PARTIAL:
        failed = ", ".join(p.value for p in gen.failed_platforms)
        err.print(
            f"[yellow]Partial: {failed} failed. Retry them free with: "
            f"repurposeflow regenerate {gen.id}[/]"
        )
    if joined:
        note = "the same request was already running: its result, no second charge"
    elif result.cached:
        note = "from your history, no charge"
    elif is_ephemeral(app_.settings.database_url):
        note = f"not kept: the database {app_.settings.database_url} is in memory"
    else:
        note = f"saved as {gen.id}"
    err.print(f"[dim]{escape(note)} · {escape(_usage_line(app_))}[/]")


def _queue_generation(
    app_: App, engine: ContentEngine, request: RepurposeRequest, fmt: OutputFormat, quiet: bool
) -> None:
    """Reserve, queue for a worker once the reservation has committed, print the id."""
    try:
        started = start_generation(app_.uow(), engine, app_.clock, request)
    except RequestInFlight as busy:
        if not isinstance(busy.generation_id, uuid.UUID):
            raise
        gen = history.get_generation(app_.uow(), app_.settings.user, busy.generation_id)
        note = "the same request is already running: no second charge"
    else:
        gen = started.generation
        if started.cached:
            note = "from your history, no charge"
        else:
            job = GenerationJob(gen.id, app_.settings.user, engine.name, model=engine.model)
            enqueue_generation(app_.uow(), app_.clock, app_.queue(), job)
            app_.queue().shutdown()
            note = f"queued; follow it with: repurposeflow show {gen.id}"
    if fmt is OutputFormat.json:
        out.print_json(data={"id": str(gen.id), "status": gen.status.value})
    else:
        out.print(str(gen.id))
    if not quiet:
        err.print(f"[dim]{escape(note)} · {escape(_usage_line(app_))}[/]")


def _print_estimate(
    settings: Settings,
    source: str,
    platforms: tuple[Platform, ...],
    tone: Tone | None,
    fmt: OutputFormat,
) -> None:
    """``--dry-run``: the real prompts counted and priced; nothing is called or charged."""
    if settings.engine not in MODEL_ENGINES:
        message = f"The {settings.engine} engine runs on this machine: it costs no tokens."
        if fmt is OutputFormat.json:
            out.print(json.dumps({"engine": settings.engine, "cost_usd": "0"}), markup=False)
        else:
            out.print(message, markup=False)
        return
    estimate = estimate_cost(settings, source, platforms, tone or Tone.CONVERSATIONAL)
    total = estimate.total
    if fmt is OutputFormat.json:

        def row(name: str, u: TokenUsage) -> dict[str, object]:
            return {
                "call": name,
                "input_tokens": u.input_tokens,
                "cached_input_tokens": u.cached_input_tokens,
                "cache_write_tokens": u.cache_write_tokens,
                "output_tokens": u.output_tokens,
                "estimated_cost_usd": str(u.cost_usd) if u.cost_usd is not None else None,
            }

        data = {
            "engine": estimate.provider,
            "model": estimate.model,
            "counted_with": estimate.counter,
            "calls": [row(c.name, c.usage) for c in estimate.calls],
            "total": row("total", total),
        }
        out.print(json.dumps(data, indent=2), markup=False)
        return
    table = Table(title=f"{estimate.provider} {estimate.model}: estimate, nothing was called")
    for column in ("call", "input", "cached", "cache write", "output", "cost"):
        table.add_column(column, justify="left" if column == "call" else "right")
    for c in (*estimate.calls, None):
        name, u = ("total", total) if c is None else (c.name, c.usage)
        table.add_row(
            name,
            f"{u.input_tokens:,}",
            f"{u.cached_input_tokens:,}",
            f"{u.cache_write_tokens:,}",
            f"{u.output_tokens:,}",
            f"${u.cost_usd:.4f}" if u.cost_usd is not None else "unknown",
        )
    out.print(table)
    out.print(
        f"Tokens {escape(estimate.counter)}; outputs at typical sizes. No charge: a dry "
        "run uses none of your quota.",
        markup=False,
    )
    if total.cost_usd is None:
        out.print(
            f"No price for {estimate.model}: its cost is unknown (add one with the prices "
            "setting, see: repurposeflow engines).",
            markup=False,
        )


@app.command("engines")
def engines_command() -> None:
    """The engines you can choose, their default models, keys and prices."""
    settings = load_settings()
    catalogue = price_catalogue(settings)
    lines = ["local      built in, runs on this machine, free"]
    for provider in MODEL_ENGINES:
        missing = missing_engine_key(provider)
        key = f"missing: set {missing}" if missing else "set"
        default = catalogue.default_model(provider)
        lines.append(f"{provider:<10} default model {default}; key {key}")
        for name, price in catalogue.models.get(provider, {}).items():
            write = f"  cache write ${price.cache_write}" if price.cache_write is not None else ""
            lines.append(
                f"           {name:<20} input ${price.input}  cached ${price.cached_input}"
                f"  output ${price.output}{write}"
            )
    lines.append("Prices are USD per million tokens; override them with the prices setting.")
    out.print("\n".join(lines), markup=False)


@contextmanager
def _refund_survives_ctrl_c() -> Iterator[None]:
    """The first Ctrl-C stops the run (the service fails and refunds it); any further
    one is ignored until the refund is done, so a quick double Ctrl-C cannot leave the
    run pending and charged. The line that says so is printed here: click would turn
    the interrupt into "Aborted!" and exit 1."""
    interrupted = False

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal interrupted
        if interrupted:
            return
        interrupted = True
        raise KeyboardInterrupt

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main_thread else None
    try:
        yield
    except KeyboardInterrupt:
        err.print("interrupted: the run was stopped and refunded; nothing was charged.")
        raise typer.Exit(130) from None
    finally:
        if previous is not None and not interrupted:
            signal.signal(signal.SIGINT, previous)
        elif previous is not None:
            # The process is about to end: a late Ctrl-C must not turn its shutdown into
            # a traceback, nor kill it once the interpreter, finalizing, has put back the
            # default handler for a Python-level one (exit -2 instead of 130, seen under
            # load). An ignored signal stays ignored through finalization.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _join(app_: App, busy: RequestInFlight, quiet: bool) -> RepurposeResult | None:
    """Wait for the twin already running (charged once, for it) and return its result.
    A twin whose process died (pending past the stale limit) is failed and refunded
    by the sweep, and then reported like any failed twin."""
    generation_id = str(busy.generation_id)
    gen = history.get_generation(app_.uow(), app_.settings.user, generation_id)
    if not quiet:
        released = gen.created_at + maintenance.STALE_AFTER
        err.print(
            "[dim]The same request is already running (since "
            f"{gen.created_at:%H:%M:%S} UTC); waiting for it, no second charge. If that "
            f"run was killed, it is released at {released:%H:%M} UTC.[/]"
        )
    while gen.status is GenerationStatus.PENDING:
        if app_.clock.now() - gen.created_at > maintenance.STALE_AFTER:
            maintenance.sweep_stale_pending(app_.uow(), app_.clock)
        else:
            time.sleep(JOIN_POLL_S)
        gen = history.get_generation(app_.uow(), app_.settings.user, generation_id)
    if gen.status is GenerationStatus.FAILED:
        return None  # refunded: the caller runs the request itself
    return RepurposeResult(gen, cached=True)


@app.command("history")
def history_command(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many (1-100).")] = 20,
    cursor: Annotated[str | None, typer.Option(help="Continue from a previous page.")] = None,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Your past generations, newest first."""
    app_ = _app()
    _local_user(app_)
    page = history.list_history(app_.uow(), app_.settings.user, limit=limit, cursor=cursor)
    if fmt is OutputFormat.json:
        out.print(
            json.dumps(
                {
                    "items": [generation_dict(g) for g in page.items],
                    "next_cursor": page.next_cursor,
                },
                indent=2,
                ensure_ascii=False,
            ),
            markup=False,
        )
        return
    if not page.items:
        err.print("No generations yet. Try: repurposeflow repurpose examples/blog-post.md")
        return
    # Two lines a generation: its id (to copy into show/regenerate), when and how it went;
    # then what it was about. Fits an 80-column terminal without cutting the id.
    width = max(40, out.width)
    for gen in page.items:
        platforms = gen.selected_platforms
        scope = (
            "all platforms"
            if set(platforms) == set(Platform)
            else ", ".join(p.value for p in platforms)
        )
        out.print(
            f"[bold]{gen.id}[/]  {gen.created_at:%Y-%m-%d %H:%M}  {gen.status.value}",
            highlight=False,
        )
        about = gen.detected_topic or _title_of(gen.input_content)
        line = f"{scope} · {about}"
        if len(line) > width - 2:
            line = line[: width - 3].rstrip() + "…"
        out.print(f"  [dim]{escape(line)}[/]", highlight=False)
    if page.next_cursor:
        err.print(f"[dim]more: repurposeflow history --cursor {page.next_cursor}[/]")


@app.command("show")
def show_command(
    generation_id: Annotated[str, typer.Argument(metavar="ID", help="A generation id.")],
    platform: Annotated[
        list[str] | None, typer.Option("--platform", "-p", help=PLATFORM_HELP)
    ] = None,
    fmt: FormatOption = OutputFormat.text,
) -> None:
    """Show one generation from your history."""
    platforms = parse_platforms(platform) if platform else None
    app_ = _app()
    _local_user(app_)
    gen = history.get_generation(app_.uow(), app_.settings.user, generation_id)
    _print_generation(gen, fmt, platforms)


@app.command("usage")
def usage_command() -> None:
    """What you have used this month and when it resets."""
    app_ = _app()
    _local_user(app_)
    s = usage_service.usage_summary(app_.uow(), app_.clock, app_.settings.user)
    limit = display_limit(s.limit)
    left = "unlimited" if s.unlimited else str(s.remaining)
    out.print(
        f"Plan: {s.tier.value}\nUsed: {s.used} of {limit} this month\nLeft: {left}\n"
        f"Resets: {s.resets_at:%Y-%m-%d %H:%M} UTC"
    )
    if s.status is SubscriptionStatus.PAST_DUE:
        err.print(
            "[yellow]Your last payment failed; Stripe is retrying it and your plan stays "
            "until it gives up. Update your card: repurposeflow billing portal[/]"
        )


@app.command("regenerate")
def regenerate_command(
    generation_id: Annotated[str, typer.Argument(metavar="ID", help="A generation id.")],
    platform: Annotated[
        list[str] | None,
        typer.Argument(help="Platforms to write again (default: the ones that failed)."),
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Write some platforms of a generation again, at no charge."""
    app_ = _app()
    _local_user(app_)
    gen = history.get_generation(app_.uow(), app_.settings.user, generation_id)
    chosen = parse_platforms(platform) if platform else None
    updated = regenerate(
        app_.uow(),
        app_.engine_for(gen.llm_provider, gen.llm_model),
        app_.clock,
        clerk_user_id=app_.settings.user,
        generation_id=gen.id,
        platforms=chosen,
        on_progress=_ProgressView(err, quiet),
        max_concurrency=app_.settings.concurrency,
    )
    _print_generation(updated, fmt, chosen or gen.failed_platforms)


@app.command("voice")
def voice_command(
    tone: Annotated[str | None, typer.Option("--tone", "-t", help="Your default tone.")] = None,
    ban: Annotated[
        list[str] | None, typer.Option("--ban", help="A phrase never to use (repeatable).")
    ] = None,
    sample: Annotated[
        list[Path] | None,
        typer.Option("--sample", help="A file with a post of yours, as a style hint."),
    ] = None,
    hashtag_cap: Annotated[
        int | None,
        typer.Option(
            help=f"Most hashtags on Instagram (default {INSTAGRAM_DEFAULT_HASHTAG_CAP}, "
            f"max {INSTAGRAM_HARD_HASHTAG_CAP})."
        ),
    ] = None,
    clear_bans: Annotated[bool, typer.Option(help="Forget your banned phrases.")] = False,
) -> None:
    """Show or change how you sound: default tone, banned phrases, sample posts."""
    app_ = _app()
    user = _local_user(app_)
    banned = None
    if clear_bans or ban:
        banned = ([] if clear_bans else list(user.voice.banned_phrases)) + list(ban or [])
    samples = [_read_source(str(p)) for p in sample] if sample else None
    voice = users.set_voice(
        app_.uow(),
        app_.settings.user,
        default_tone=tone,
        banned_phrases=banned,
        sample_posts=samples,
        instagram_hashtag_cap=hashtag_cap,
    )
    out.print(
        f"Default tone: {voice.default_tone.value}\n"
        f"Banned phrases: {', '.join(voice.banned_phrases) or '(only the built-in list)'}\n"
        f"Sample posts: {len(voice.sample_posts)}\n"
        f"Instagram hashtag cap: {voice.instagram_hashtag_cap}",
        markup=False,
    )


@app.command("stats")
def stats_command() -> None:
    """The monitoring queries: plans, daily volume, platforms, latency."""
    app_ = _app()
    report = maintenance.stats(app_.uow(), app_.clock)
    tiers = Table("plan", "active users", "generations this month", title="Plans", box=None)
    for t in report.tiers:
        tiers.add_row(t.tier.value, str(t.user_count), str(t.total_generations))
    out.print(tiers)
    volume = Table("day", "generations", "active users", title="Last 30 days", box=None)
    for d in report.daily_volume:
        volume.add_row(str(d.day), str(d.generations), str(d.active_users))
    out.print(volume)
    popular = Table("platform", "uses", title="Platforms, last 7 days", box=None)
    for p in report.platform_popularity:
        popular.add_row(p.platform.value, str(p.usage_count))
    out.print(popular)
    lat = report.latency

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f} ms"

    out.print(
        f"Latency, last 7 days ({lat.samples} completed): avg {ms(lat.avg_ms)}, "
        f"median {ms(lat.median_ms)}, p95 {ms(lat.p95_ms)}"
    )


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    dev_user: Annotated[
        str | None,
        typer.Option(help="DEVELOPMENT ONLY: no sign-in, every request acts as this user."),
    ] = None,
) -> None:
    """Run the HTTP API on the configured database (docs at /docs)."""
    from repurposeflow.entrypoints.http.serve import serve

    serve(host=host, port=port, workers=workers, dev_user=dev_user)


@app.command("worker")
def worker_command(
    concurrency: Annotated[
        int, typer.Option(help="Generations run at once by this process.", min=1, max=64)
    ] = 4,
) -> None:
    """Run queued generations (jobs = "procrastinate") until stopped: Ctrl-C or
    SIGTERM takes no new job and lets the running ones finish."""
    import logging

    app_ = _app()
    queue = app_.queue()
    if not queue.schema_present():
        raise NotConfigured(
            "The job queue's tables are missing: run `repurposeflow db upgrade` "
            '(with jobs = "procrastinate") first.'
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    err.print(
        f"worker: running queued generations from {_safe_url(app_.settings.database_url)} "
        f"({concurrency} at once); Ctrl-C stops it after the running ones"
    )
    queue.run_worker(concurrency=concurrency)
    err.print("worker: stopped")


@retention_app.command("run")
def retention_run_command(
    batch_size: Annotated[int, typer.Option(help="Rows per transaction.")] = 1000,
) -> None:
    """Archive generations older than 90 days, fold usage logs older than 90 days into
    daily rows, delete processed webhook events older than 30 days, and fail (refund)
    generations stuck pending; with jobs = "procrastinate", delete the queue's finished
    jobs older than 7 days. Safe to rerun."""
    if batch_size < 1:
        raise InvalidInput("--batch-size must be at least 1.")
    app_ = _app()
    swept = maintenance.sweep_stale_pending(app_.uow(), app_.clock)
    report = maintenance.run_retention(app_.uow(), app_.clock, batch_size=batch_size)
    out.print(
        f"archived generations: {report.generations_archived}\n"
        f"usage logs folded: {report.usage_logs_aggregated} "
        f"(into {report.usage_daily_rows} daily rows)\n"
        f"webhook events deleted: {report.webhook_events_deleted}\n"
        f"stuck generations failed and refunded: {swept}"
    )
    if app_.settings.queued:
        out.print(f"finished queue jobs deleted: {app_.queue().purge_finished()}")


@app.command("bench")
def bench_command(
    quick: Annotated[bool, typer.Option(help="Seconds, not minutes (what CI runs).")] = False,
) -> None:
    """Run the benchmarks (python -m benchmarks) of a source checkout."""
    import subprocess

    checkout = Path(__file__).resolve().parents[3]
    if not (checkout / "benchmarks" / "__main__.py").is_file():
        raise RepurposeFlowError("The benchmarks ship with the source checkout, not the package.")
    argv = [sys.executable, "-m", "benchmarks", *(["--quick"] if quick else [])]
    raise typer.Exit(subprocess.run(argv, cwd=checkout, check=False).returncode)


@db_app.command("upgrade")
def db_upgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the database to the newest schema (or REVISION); with jobs =
    "procrastinate", also apply the job queue's schema if it is not there."""
    settings = load_settings()
    now_at = migrate(settings, revision)
    out.print(f"{_safe_url(settings.database_url)} is at revision {now_at}")
    if settings.queued:
        applied = ensure_queue_schema(settings)
        out.print(f"job queue schema (procrastinate): {'applied' if applied else 'present'}")


@db_app.command("current")
def db_current_command() -> None:
    """Show the database's schema revision."""
    settings = load_settings()
    revision = schema_revision(settings)
    out.print(f"{_safe_url(settings.database_url)}: {revision or 'empty (run: db upgrade)'}")


@db_app.command("seed")
def db_seed_command() -> None:
    """Add the development test user and sample generations (idempotent)."""
    from repurposeflow.services.devseed import seed_dev_data

    app_ = _app()
    seed_dev_data(app_.uow(), app_.clock)
    out.print("Seeded user_test123 (test@example.com, pro) with sample generations.")


partitions_app = typer.Typer(
    help="Monthly partitions of generations and usage logs (PostgreSQL only): create the "
    "coming months (run it from cron), drop or detach old ones.",
    no_args_is_help=True,
)
db_app.add_typer(partitions_app, name="partitions")
PARTITIONS_ONLY_ON_POSTGRESQL = (
    "Partitions are PostgreSQL-only: this database is not partitioned, nothing to do."
)


@partitions_app.command("ensure")
def db_partitions_ensure_command(
    months_ahead: Annotated[
        int, typer.Option(min=0, max=120, help="Months after this one to create now.")
    ] = 3,
) -> None:
    """Create this month's partitions and the next MONTHS_AHEAD (idempotent); rows that
    sat in the default partition move into their month's new partition."""
    report = ensure_partitions(load_settings(), months_ahead)
    if report is None:
        out.print(PARTITIONS_ONLY_ON_POSTGRESQL)
        return
    for name in report.created:
        moved = report.moved.get(name)
        out.print(f"created {name}" + (f" (moved {moved} rows from the default)" if moved else ""))
    if not report.created:
        out.print(f"Partitions present for this month and the next {months_ahead}.")


def _month(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"--before {value!r} is not a month like 2026-01.") from None


@partitions_app.command("drop")
def db_partitions_drop_command(
    before: Annotated[
        str, typer.Option(help="YYYY-MM: every month that ends by this month's start goes.")
    ],
    detach: Annotated[
        bool,
        typer.Option(help="Detach (keep each month as a table of its own) instead of drop."),
    ] = False,
) -> None:
    """Retention by whole months: archive each old generations month into
    generations_archive and fold each old usage_logs month into daily rows, then drop
    it (or, with --detach, detach it untouched)."""
    report = drop_partitions(load_settings(), _month(before).date(), detach=detach)
    if report is None:
        out.print(PARTITIONS_ONLY_ON_POSTGRESQL)
        return
    for name in report.dropped + report.detached:
        verb = "detached" if name in report.detached else "dropped"
        out.print(f"{verb} {name} ({report.moved.get(name, 0)} rows)")
    if not report.dropped and not report.detached:
        out.print(f"No monthly partition ends before {before}.")


# --- billing and webhooks ----------------------------------------------------------------

billing_app = typer.Typer(
    help="Your plan: checkout and the billing portal (Stripe).", no_args_is_help=True
)
webhooks_app = typer.Typer(
    help="Stripe and Clerk webhooks: ingest, list, replay.", no_args_is_help=True
)
app.add_typer(billing_app, name="billing")
app.add_typer(webhooks_app, name="webhooks")

DEFAULT_RETURN_URL = "http://localhost:8000/billing"


def _billing(app_: App) -> BillingGateway:
    if app_.billing is None:
        raise NotConfigured(
            "Stripe is not configured: set STRIPE_SECRET_KEY and the price ids "
            "(REPURPOSEFLOW_STRIPE_PRICE_PRO, REPURPOSEFLOW_STRIPE_PRICE_BUSINESS)."
        )
    return app_.billing


def _parse_since(value: str | None) -> datetime | None:
    """A date (YYYY-MM-DD) or ISO time; without a zone it is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"--since {value!r} is not a date (YYYY-MM-DD) or ISO time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@billing_app.command("checkout")
def billing_checkout_command(
    tier: Annotated[str, typer.Option("--tier", help="pro or business.")],
    interval: Annotated[str, typer.Option("--interval", help="month or year.")] = "month",
    success_url: Annotated[str, typer.Option(help="Where Stripe sends you after paying.")] = (
        DEFAULT_RETURN_URL + "?checkout=success"
    ),
    cancel_url: Annotated[str, typer.Option(help="Where Stripe sends you if you cancel.")] = (
        DEFAULT_RETURN_URL + "?checkout=cancel"
    ),
) -> None:
    """Print a Stripe Checkout URL for a paid plan. Your plan changes when Stripe's
    webhooks say the subscription is live."""
    app_ = _app()
    gateway = _billing(app_)
    _local_user(app_)
    session = billing_service.start_checkout(
        app_.uow(), gateway, app_.settings.user, tier=tier, interval=interval,
        success_url=success_url, cancel_url=cancel_url,
    )  # fmt: skip
    out.print(session.url, markup=False)


@billing_app.command("portal")
def billing_portal_command(
    return_url: Annotated[str, typer.Option(help="Where the portal sends you back.")] = (
        DEFAULT_RETURN_URL
    ),
) -> None:
    """Print a Stripe billing portal URL: change plan or card, cancel."""
    app_ = _app()
    gateway = _billing(app_)
    _local_user(app_)
    url = billing_service.open_portal(
        app_.uow(), gateway, app_.settings.user, return_url=return_url
    )
    out.print(url, markup=False)


def _receipt_line(receipt: WebhookReceipt) -> str:
    line = f"{receipt.event_id} {receipt.event_type}: {receipt.outcome.value}"
    return f"{line} ({receipt.error})" if receipt.error else line


@webhooks_app.command("ingest")
def webhooks_ingest_command(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="The raw body as received; - reads stdin.")
    ],
    source: Annotated[str, typer.Option("--source", help="stripe or clerk.")],
    signature: Annotated[
        str | None,
        typer.Option(help="The Stripe-Signature header (stripe) or svix-signature (clerk)."),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", "-H", help="Another header, 'Name: value' (clerk: svix-id, svix-timestamp)."
        ),
    ] = None,
) -> None:
    """Feed one saved delivery through the same path as the HTTP endpoint: verify,
    store once, process. The signature's timestamp must be within 5 minutes."""
    kind = WebhookSource.parse(source)
    raw = _read_bytes(file)
    headers: dict[str, str] = {}
    for item in header or []:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise InvalidInput(f"--header {item!r} is not 'Name: value'.")
        headers[name.strip().lower()] = value.strip()
    if signature:
        name = "stripe-signature" if kind is WebhookSource.STRIPE else "svix-signature"
        headers[name] = signature
    receipt = _app().webhook_inbox().receive(kind, raw, headers)
    out.print(_receipt_line(receipt), markup=False)
    if receipt.outcome is WebhookOutcome.FAILED:
        err.print(
            f"[dim]stored; replay it with: repurposeflow webhooks replay --id {receipt.event_id}[/]"
        )
        raise typer.Exit(1)


def _read_bytes(path: str) -> bytes:
    """A webhook body from a file (``-``: stdin), bounded like the HTTP body limit."""
    file = Path(path).expanduser()
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_WEBHOOK_BYTES + 1)
        else:
            with file.open("rb") as stream:
                data = stream.read(MAX_WEBHOOK_BYTES + 1)
        if len(data) > MAX_WEBHOOK_BYTES:
            raise InvalidInput(f"{path} is larger than {MAX_WEBHOOK_BYTES:,} bytes.")
        return data
    except FileNotFoundError:
        raise InvalidInput(f"No such file: {path}") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from None


@webhooks_app.command("list")
def webhooks_list_command(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many (1-1000).")] = 20,
    failed: Annotated[bool, typer.Option("--failed", help="Only events not processed.")] = False,
    since: Annotated[str | None, typer.Option(help="Received on or after (YYYY-MM-DD).")] = None,
) -> None:
    """Recent webhook events, newest first, and what became of them."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("--limit must be between 1 and 1000.")
    events = (
        _app().webhook_inbox().recent(limit=limit, since=_parse_since(since), failed_only=failed)
    )
    if not events:
        err.print("No webhook events stored.")
        return
    table = Table(box=None)
    for column in ("received (UTC)", "source", "type", "event id", "state"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for e in events:
        if e.processed:
            state = "processed"
        elif e.error_message:
            state = f"failed ×{e.retry_count}"
        else:
            state = "pending"
        table.add_row(
            f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.source.value, escape(e.event_type),
            escape(e.event_id), state, escape(e.error_message or ""),
        )  # fmt: skip
    out.print(table)


@webhooks_app.command("replay")
def webhooks_replay_command(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only events not processed yet.")
    ] = False,
    since: Annotated[str | None, typer.Option(help="Received on or after (YYYY-MM-DD).")] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="One event, by its id.")] = None,
) -> None:
    """Process stored events again, oldest first. Idempotent: an event already applied
    changes nothing; a failed one is retried."""
    receipts = (
        _app()
        .webhook_inbox()
        .replay(failed_only=failed, since=_parse_since(since), event_id=event_id)
    )
    for receipt in receipts:
        out.print(_receipt_line(receipt), markup=False)
    failures = sum(r.outcome is WebhookOutcome.FAILED for r in receipts)
    err.print(f"[dim]replayed {len(receipts)}, failed {failures}[/]")
    if failures:
        raise typer.Exit(1)


def _safe_url(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


def _version(value: bool) -> None:
    if value:
        out.print(f"repurposeflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Settings: REPURPOSEFLOW_HOME, REPURPOSEFLOW_DATABASE_URL, REPURPOSEFLOW_ENGINE,
    REPURPOSEFLOW_USER, REPURPOSEFLOW_EMAIL, REPURPOSEFLOW_TIER, or a config.toml.
    Billing: STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, REPURPOSEFLOW_STRIPE_PRICE_PRO,
    REPURPOSEFLOW_STRIPE_PRICE_BUSINESS; Clerk: CLERK_WEBHOOK_SIGNING_SECRET, CLERK_JWT_KEY."""


EXIT_CODES: list[tuple[type[RepurposeFlowError], int]] = [
    (InvalidInput, 2),
    (QuotaExhausted, 3),
    (NotFound, 4),
    (StoreUnavailable, 5),
    (NotConfigured, 2),
    (WebhookRejected, 2),
]


def _reader_went_away(*, broken: bool = False) -> bool:
    """stdout's reader closed early (``| head``): like standard tools, end quietly with
    status 0. click reports it by wrapping stdout (and exiting 1)."""
    if not broken and type(sys.stdout).__name__ != "PacifyFlushWrapper":
        return False
    # The interpreter's last flush must not complain either.
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code.

    Usage errors are click's (usage line + message, exit 2); domain errors are ours."""
    try:
        app(args=argv, prog_name="repurposeflow")
    except SystemExit as exc:
        if _reader_went_away():
            return 0
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:
        _reader_went_away(broken=True)
        return 0
    except RepurposeFlowError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        return next((code for cls, code in EXIT_CODES if isinstance(exc, cls)), 1)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # the promise: one line, never a traceback
        if os.environ.get("REPURPOSEFLOW_DEBUG"):
            raise
        err.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(str(exc))} "
            "(REPURPOSEFLOW_DEBUG=1 shows details)"
        )
        return 1
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
