"""The local engine: words per second and peak memory on a ~10,000-word article (each
measured in a fresh process), against the ~1,000-word example."""

from __future__ import annotations

import multiprocessing
import re
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.report import Figure

ROOT = Path(__file__).resolve().parents[1]


def long_article(words: int) -> str:
    """The example's paragraphs over and over, every sentence of a repeat made unique
    (the engine memoises per sentence, so verbatim repeats would be nearly free)."""
    from repurposeflow.domain.text import check_input

    example = check_input((ROOT / "examples" / "blog-post.md").read_text(encoding="utf-8"))
    paragraphs = [p for p in example.split("\n\n") if len(p.split()) > 20]
    parts: list[str] = []
    count = 0
    while count < words:
        n = len(parts)
        paragraph = paragraphs[n % len(paragraphs)]
        if n >= len(paragraphs):
            rounds = n // len(paragraphs)
            sentences = re.split(r"(?<=[.!?])\s+", paragraph)
            paragraph = " ".join(
                f"{sentence.rstrip('.!?')}, as note {rounds}.{i} puts it." if sentence else ""
                for i, sentence in enumerate(sentences)
            )
        parts.append(paragraph)
        count += len(paragraph.split())
    return check_input("\n\n".join(parts))


def _run(words: int | None, runs: int) -> dict[str, Any]:
    """In a fresh process: analyse once and render all six platforms, ``runs`` times."""
    from repurposeflow.adapters.engines.local import LocalEngine
    from repurposeflow.domain.engine import RenderRequest
    from repurposeflow.domain.enums import Platform, Tone
    from repurposeflow.domain.text import check_input

    if words is None:
        text = check_input((ROOT / "examples" / "blog-post.md").read_text(encoding="utf-8"))
    else:
        text = long_article(words)
    LocalEngine().analyze("Warm up the models. " * 20, Tone.CONVERSATIONAL)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(runs):
        engine = LocalEngine()  # no per-source cache carried over
        start = time.perf_counter()
        analysis = engine.analyze(text, Tone.CONVERSATIONAL)
        for platform in Platform:
            engine.render(RenderRequest(text, analysis.brief, platform, Tone.CONVERSATIONAL))
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "words": len(text.split()),
        "seconds": sorted(times)[len(times) // 2],
        "rss_before_kb": before,
        "peak_kb": peak,
    }


def _fresh(words: int | None, runs: int) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_run, words, runs).result()


def local_engine(*, quick: bool) -> list[Figure]:
    runs = 1 if quick else 3
    words = 3_000 if quick else 10_000
    small = _fresh(None, runs)
    big = _fresh(words, runs)
    rate = big["words"] / big["seconds"]
    base = small["words"] / small["seconds"]
    grown_mb = (big["peak_kb"] - big["rss_before_kb"]) / 1024
    return [
        Figure(
            f"local engine words/s, {big['words']:,}-word article",
            rate,
            "words/s",
            base,
            f"{small['words']:,}-word example",
            note=f"{big['seconds']:.2f} s for analyse + 6 platforms; below 1: slower per word",
        ),
        Figure(
            f"local engine peak memory, {big['words']:,} words",
            big["peak_kb"] / 1024,
            "MB",
            small["peak_kb"] / 1024,
            f"{small['words']:,}-word example",
            note=f"process peak RSS; {grown_mb:.0f} MB above the loaded engine",
        ),
    ]
