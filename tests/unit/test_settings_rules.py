"""Settings rules (bootstrap.load_settings): each bad setting is one InvalidInput."""

from __future__ import annotations

from pathlib import Path

import pytest

from repurposeflow.bootstrap import is_ephemeral, load_settings
from repurposeflow.domain.enums import Tier
from repurposeflow.domain.errors import InvalidInput


def _env(tmp_path: Path, config: str | None = None, **extra: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    if config is not None:
        path.write_text(config + "\n")
    return {"REPURPOSEFLOW_CONFIG": str(path), **extra}


@pytest.mark.parametrize(
    "config",
    [
        "home = 7",
        "database_url = 42",
        'user = ["a", "b"]',
        "email = 1.5",
        "engine = true",
        "tier = 3",
        "concurrency = 2.5",
        "concurrency = false",
    ],
)
def test_a_setting_of_the_wrong_type_is_refused(tmp_path, config):
    with pytest.raises(InvalidInput):
        load_settings(_env(tmp_path, config))


@pytest.mark.parametrize(
    "url", ["garbage", "mysql://x@y/z", "postgresql+psycopg2://u:pw@h/d", "oracle://h"]
)
def test_a_database_url_no_store_can_open_is_refused(tmp_path, url):
    with pytest.raises(InvalidInput) as caught:
        load_settings(_env(tmp_path, REPURPOSEFLOW_DATABASE_URL=url))
    assert "pw" not in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.db",
        "postgresql://h/d",
        "postgres://h/d",
        "postgresql+psycopg://h/d",
        "memory://",
        "sqlite://",
    ],
)
def test_the_urls_we_open_are_accepted(tmp_path, url):
    assert load_settings(_env(tmp_path, REPURPOSEFLOW_DATABASE_URL=url)).database_url == url


def test_in_memory_stores_are_ephemeral():
    assert is_ephemeral("memory://") and is_ephemeral("sqlite://")
    assert is_ephemeral("sqlite:///:memory:")
    assert not is_ephemeral("sqlite:////tmp/x.db")
    assert not is_ephemeral("postgresql+psycopg://h/d")


def test_test_engines_need_a_host_to_name_them(tmp_path):
    with pytest.raises(InvalidInput, match="choose one of: local"):
        load_settings(_env(tmp_path, REPURPOSEFLOW_ENGINE="scripted"))
    settings = load_settings(
        _env(tmp_path, REPURPOSEFLOW_ENGINE="scripted"), known_engines=("scripted",)
    )
    assert settings.engine == "scripted"


def test_the_tier_setting_is_refused_when_billing_is_configured(tmp_path):
    assert load_settings(_env(tmp_path, REPURPOSEFLOW_TIER="pro")).tier is Tier.PRO
    with pytest.raises(InvalidInput, match="STRIPE_SECRET_KEY"):
        load_settings(_env(tmp_path, REPURPOSEFLOW_TIER="pro", STRIPE_SECRET_KEY="sk_test_1"))


def test_a_config_path_that_is_a_folder(tmp_path):
    with pytest.raises(InvalidInput, match="is a directory"):
        load_settings({"REPURPOSEFLOW_CONFIG": str(tmp_path)})
