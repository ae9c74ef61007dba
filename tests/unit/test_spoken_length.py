"""The TikTok script's spoken length: words for spaced scripts, characters for Chinese
and Japanese, which have no spaces to count words by."""

from __future__ import annotations

from pathlib import Path

from repurposeflow.domain.measure import spoken_seconds
from repurposeflow.domain.platforms import TikTokOutput

INPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "inputs"


def test_spaced_languages_are_counted_in_words_at_150_a_minute() -> None:
    assert spoken_seconds(" ".join(["word"] * 150)) == 60
    assert spoken_seconds(" ".join(["palabra"] * 75)) == 30
    assert spoken_seconds("") == 0
    assert spoken_seconds("   \n ") == 0


def test_chinese_and_japanese_are_counted_in_characters_at_250_a_minute() -> None:
    assert spoken_seconds("我" * 250) == 60
    assert spoken_seconds("あ" * 125) == 30
    assert spoken_seconds("カ" * 251) == 61


def test_cjk_punctuation_is_silent() -> None:
    plain = "在宅勤務は自由です" * 10
    punctuated = "「在宅勤務は、自由です。」" * 10
    assert spoken_seconds(punctuated) == spoken_seconds(plain)


def test_mixed_text_adds_characters_and_words() -> None:
    # 125 characters (30 s) and 75 words (30 s).
    text = "日本語" * 25 + " " + " ".join(["Python"] * 75) + "中文" * 25
    assert spoken_seconds(text) == 60


def test_a_japanese_paragraph_takes_more_than_a_few_seconds() -> None:
    text = (INPUTS / "japanese.txt").read_text("utf-8")
    characters = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff")
    assert characters > 200
    # A whitespace count saw a handful of "words" here, i.e. a couple of seconds.
    assert spoken_seconds(text) >= characters * 60 // 250


def test_the_tiktok_output_reports_the_same_figure() -> None:
    output = TikTokOutput(
        hooks=("在宅勤務を三年続けてわかったこと。", "b", "c"),
        talking_points=("自由を守るには自分でルールを作る必要があります。",) * 3,
        cta="フォローしてください。",
    )
    assert output.estimated_seconds == spoken_seconds(output.script) >= 10
