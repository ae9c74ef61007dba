"""How a generation reads to a person: Markdown per platform, JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from repurposeflow.domain.enums import Platform
from repurposeflow.domain.measure import char_count, twitter_weighted_length
from repurposeflow.domain.model import Generation
from repurposeflow.domain.platforms import (
    EMAIL_MAX_SUBJECT,
    INSTAGRAM_MAX_CAPTION,
    LINKEDIN_MAX_CHARS,
    THREADS_MAX_CHARS,
    TWITTER_MAX_WEIGHTED,
    InstagramOutput,
    output_from_dict,
)

TITLES = {
    Platform.TIKTOK: "TikTok",
    Platform.TWITTER: "X / Twitter",
    Platform.THREADS: "Threads",
    Platform.LINKEDIN: "LinkedIn",
    Platform.INSTAGRAM: "Instagram",
    Platform.EMAIL: "Email",
}


def _tags(tags: Any) -> str:
    return " ".join(tags or ())


def _missing_tags(tags: Any, *texts: str) -> str:
    """Hashtags not already written into the post itself, so none shows twice."""
    joined = "\n".join(texts)
    return _tags(t for t in tags or () if t not in joined)


def platform_markdown(platform: Platform, data: Mapping[str, Any], plain: bool = False) -> str:
    """One platform's output as Markdown a person can copy from; ``plain`` leaves out
    the Markdown emphasis (for ``--format text``, read in a terminal)."""

    def b(label: str) -> str:
        return label if plain else f"**{label}**"

    lines: list[str] = []
    if platform is Platform.TWITTER:
        for i, post in enumerate(data["thread"], 1):
            lines += [
                f"{b(f'Post {i}')} · {twitter_weighted_length(post)}/{TWITTER_MAX_WEIGHTED}",
                "",
                post,
                "",
            ]
        extra = _missing_tags(data.get("hashtags"), *data["thread"])
        if extra:
            lines += [f"Hashtags: {extra}"]
    elif platform is Platform.THREADS:
        for i, post in enumerate(data["posts"], 1):
            lines += [f"{b(f'Post {i}')} · {char_count(post)}/{THREADS_MAX_CHARS}", "", post, ""]
        if data.get("topic_tag"):
            lines += [f"Topic tag: {data['topic_tag']}"]
    elif platform is Platform.TIKTOK:
        lines += [f"{b('Hooks')} (pick one)", ""]
        lines += [f"{i}. {h}" for i, h in enumerate(data["hooks"], 1)]
        lines += ["", b("Talking points"), ""]
        lines += [f"- {p}" for p in data["talking_points"]]
        lines += ["", f"{b('CTA:')} {data['cta']}", ""]
        if data.get("hashtags"):
            lines += [f"Hashtags: {_tags(data['hashtags'])}", ""]
        if "estimated_seconds" in data:
            lines += [f"Spoken length: about {data['estimated_seconds']} s"]
    elif platform is Platform.LINKEDIN:
        post = data["post"]
        lines += [f"{char_count(post)}/{LINKEDIN_MAX_CHARS} characters", "", post, ""]
        extra = _missing_tags(data.get("hashtags"), post)
        if extra:
            lines += [extra]
    elif platform is Platform.INSTAGRAM:
        output = output_from_dict(platform, data)
        assert isinstance(output, InstagramOutput)
        full = output.full_caption
        lines += [f"{b('Caption')} · {char_count(full)}/{INSTAGRAM_MAX_CAPTION}", "", full, ""]
        if data.get("slides"):
            lines += [b("Carousel"), ""]
            lines += [f"{i}. {s}" for i, s in enumerate(data["slides"], 1)]
    elif platform is Platform.EMAIL:
        subject = data["subject"]
        lines += [
            f"{b('Subject:')} {subject} ({char_count(subject)}/{EMAIL_MAX_SUBJECT})",
            f"{b('Preheader:')} {data['preheader']}",
            "",
            data["body_markdown"],
            "",
            f"{b('CTA:')} {data['cta']}",
        ]
    return "\n".join(lines).rstrip() + "\n"


def generation_markdown(gen: Generation, platforms: tuple[Platform, ...] | None = None) -> str:
    parts = []
    for platform in platforms or gen.selected_platforms:
        if platform in gen.outputs:
            body = platform_markdown(platform, gen.outputs[platform])
        elif platform in gen.platform_errors:
            body = f"_Not generated: {gen.platform_errors[platform]}_\n"
        else:
            continue
        parts.append(f"## {TITLES[platform]}\n\n{body}")
    return "\n".join(parts)


def generation_dict(gen: Generation) -> dict[str, Any]:
    return {
        "id": str(gen.id),
        "status": gen.status.value,
        "created_at": gen.created_at.isoformat(),
        "completed_at": gen.completed_at.isoformat() if gen.completed_at else None,
        "platforms": [p.value for p in gen.selected_platforms],
        "tone": gen.selected_tone.value,
        "engine": gen.llm_provider,
        "model": gen.llm_model,
        "analysis": {
            "core_message": gen.core_message,
            "key_points": list(gen.key_points or ()),
            "topic": gen.detected_topic,
            "audience": gen.detected_audience,
        },
        "outputs": {p.value: dict(o) for p, o in gen.outputs.items()},
        "errors": {p.value: e for p, e in gen.platform_errors.items()},
        "usage": {
            "input_tokens": gen.usage.input_tokens,
            "cached_input_tokens": gen.usage.cached_input_tokens,
            "output_tokens": gen.usage.output_tokens,
            "cache_write_tokens": gen.usage.cache_write_tokens,
            # null: the model's price is unknown (not free).
            "estimated_cost_usd": (
                str(gen.usage.cost_usd) if gen.usage.cost_usd is not None else None
            ),
        },
        "generation_time_ms": gen.generation_time_ms,
    }


def usage_line(gen: Generation) -> str:
    """Tokens and cost of a generation in one line, as ``show`` prints it."""
    u = gen.usage
    cost = f"${u.cost_usd:.4f}" if u.cost_usd is not None else "cost unknown (model not priced)"
    return (
        f"{gen.llm_provider} {gen.llm_model}: {u.input_tokens:,} input tokens "
        f"({u.cached_input_tokens:,} cached, {u.cache_write_tokens:,} written to cache), "
        f"{u.output_tokens:,} output tokens, {cost}"
    )


def generation_json(gen: Generation) -> str:
    return json.dumps(generation_dict(gen), indent=2, ensure_ascii=False)
