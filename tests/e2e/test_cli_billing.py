"""The billing and webhook commands as a person drives them: Stripe through a local
stand-in of its API, webhooks signed with test secrets."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from repurposeflow.adapters.identity import FakeIdentityVerifier
from repurposeflow.entrypoints.cli import main
from tests import clerk_events
from tests.stripe_events import body, event, stripe_signature, subscription
from tests.stripe_server import StripeStandIn, stripe_stand_in

STRIPE_SECRET = "whsec_cli_test"
CLERK_SECRET = "whsec_" + base64.b64encode(b"cli-test-clerk-secret").decode()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("REPURPOSEFLOW_HOME", str(home))
    monkeypatch.setenv("REPURPOSEFLOW_CONFIG", str(tmp_path / "absent.toml"))
    for var in ("DATABASE_URL", "ENGINE", "USER", "EMAIL", "TIER", "CONCURRENCY"):
        monkeypatch.delenv(f"REPURPOSEFLOW_{var}", raising=False)
    for var in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "CLERK_JWT_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", CLERK_SECRET)
    monkeypatch.setenv("COLUMNS", "200")  # tables whole, as on a wide terminal
    return home


@pytest.fixture
def stripe(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeStandIn]:
    with stripe_stand_in() as server:
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_cli")
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET)
        monkeypatch.setenv("REPURPOSEFLOW_STRIPE_PRICE_PRO", "price_pro_monthly")
        monkeypatch.setenv("REPURPOSEFLOW_STRIPE_PRICE_BUSINESS", "price_business_monthly")
        monkeypatch.setenv("REPURPOSEFLOW_STRIPE_API_BASE", server.url)
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_checkout_prints_the_url(stripe, capsys):
    code, out, err = run(capsys, "billing", "checkout", "--tier", "pro")
    assert code == 0, err
    assert out.strip().startswith("https://checkout.stripe.com/c/pay/cs_test_")
    form = stripe.requests[-1][2]
    assert form["client_reference_id"] == "local"
    assert form["line_items[0][price]"] == "price_pro_monthly"


def test_bad_billing_requests_are_one_line_with_exit_2(stripe, home, capsys, monkeypatch):
    code, _, err = run(capsys, "billing", "checkout", "--tier", "gold")
    assert code == 2 and "Unknown tier 'gold'" in err
    code, _, err = run(capsys, "billing", "checkout", "--tier", "pro", "--interval", "year")
    assert code == 2 and "REPURPOSEFLOW_STRIPE_PRICE_PRO_YEARLY" in err
    code, _, err = run(capsys, "billing", "portal")
    assert code == 2 and "subscribe first" in err
    monkeypatch.delenv("STRIPE_SECRET_KEY")
    code, _, err = run(capsys, "billing", "portal")
    assert code == 2 and "STRIPE_SECRET_KEY" in err
    assert "Traceback" not in err


def _stripe_file(tmp_path: Path, event_id: str, created: int, **kw: object) -> tuple[Path, str]:
    obj = subscription(
        "sub_1", customer="cus_1", price="price_pro_monthly", clerk_user_id="local", **kw
    )  # type: ignore[arg-type]
    raw = body(event(event_id, "customer.subscription.updated", created, obj))
    path = tmp_path / f"{event_id}.json"
    path.write_bytes(raw)
    return path, stripe_signature(raw, STRIPE_SECRET)


def test_ingest_list_and_replay(stripe, tmp_path, capsys):
    assert run(capsys, "usage")[0] == 0  # makes the local user
    path, sig = _stripe_file(tmp_path, "evt_1", int(time.time()))
    code, out, err = run(
        capsys, "webhooks", "ingest", str(path), "--source", "stripe", "--signature", sig
    )
    assert code == 0, err
    assert out.strip() == "evt_1 customer.subscription.updated: processed"
    assert "Plan: pro" in run(capsys, "usage")[1]
    assert (
        run(capsys, "webhooks", "ingest", str(path), "--source", "stripe", "--signature", sig)[1]
        .strip()
        .endswith("duplicate")
    )

    code, _, err = run(
        capsys, "webhooks", "ingest", str(path), "--source", "stripe", "--signature", "t=1,v1=00"
    )
    assert code == 2 and "webhook rejected" in err

    # An event for a customer nobody has yet: stored, failed, listed, replayable.
    obj = subscription(
        "sub_2", customer="cus_2", price="price_pro_monthly", clerk_user_id="user_nobody"
    )
    raw = body(event("evt_2", "customer.subscription.created", int(time.time()), obj))
    orphan = tmp_path / "evt_2.json"
    orphan.write_bytes(raw)
    code, out, err = run(capsys, "webhooks", "ingest", str(orphan), "--source", "stripe",
                         "--signature", stripe_signature(raw, STRIPE_SECRET))  # fmt: skip
    assert code == 1 and "failed" in out and "replay it with" in err

    code, out, _ = run(capsys, "webhooks", "list")
    assert code == 0 and "evt_1" in out and "evt_2" in out and "failed ×1" in out
    code, out, _ = run(capsys, "webhooks", "list", "--failed")
    assert "evt_2" in out and "evt_1" not in out

    code, out, err = run(capsys, "webhooks", "replay", "--failed")
    assert code == 1 and "evt_2" in out and "replayed 1, failed 1" in err
    # Replaying an applied event is a same-second tie: Stripe is asked for the current state.
    stripe.subscriptions["sub_1"] = subscription(
        "sub_1", customer="cus_1", price="price_pro_monthly", clerk_user_id="local"
    )
    code, out, err = run(capsys, "webhooks", "replay", "--id", "evt_1")
    assert stripe.requests[-1][:2] == ("GET", "/v1/subscriptions/sub_1")
    assert code == 0 and "evt_1 customer.subscription.updated: processed" in out
    code, out, err = run(capsys, "webhooks", "replay", "--since", "2000-01-01")
    assert "replayed 2" in err
    code, _, err = run(capsys, "webhooks", "replay", "--since", "yesterday")
    assert code == 2 and "--since" in err
    code, _, err = run(capsys, "webhooks", "replay", "--id", "evt_nope")
    assert code == 4


def test_ingest_a_clerk_event_with_svix_headers(home, tmp_path, capsys):
    payload = clerk_events.user_event("user.created", "user_cli", email="cli@example.com")
    raw = json.dumps(payload).encode()
    headers = FakeIdentityVerifier(webhook_secret=CLERK_SECRET).sign_webhook(
        raw, message_id="msg_cli"
    )
    path = tmp_path / "clerk.json"
    path.write_bytes(raw)
    code, out, err = run(
        capsys, "webhooks", "ingest", str(path), "--source", "clerk",
        "--signature", headers["svix-signature"],
        "-H", f"svix-id: {headers['svix-id']}",
        "-H", f"svix-timestamp: {headers['svix-timestamp']}",
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == "msg_cli user.created: processed"
    code, _, err = run(
        capsys, "webhooks", "ingest", str(path), "--source", "clerk", "-H", "nonsense"
    )
    assert code == 2 and "Name: value" in err
    code, _, err = run(
        capsys, "webhooks", "ingest", str(tmp_path / "missing.json"), "--source", "clerk"
    )
    assert code == 2 and "No such file" in err
