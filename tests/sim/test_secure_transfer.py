"""The simulator's secure mode: the real layer with its keys from the handshake, and its CPU cost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smocast.sim.crypto_cost import CryptoCosts
from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer

PATH = PathSpec(rate=100e6, delay=0.001, loss=0.01)


def spec(**changes: object) -> TransferSpec:
    base = {"receivers": 8, "size": 400_000, "path": PATH, "seed": 3, "secure": True}
    return TransferSpec(**{**base, **changes})  # type: ignore[arg-type]


def without_wall_time(report: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in report.items() if k != "wall_time_s"}


def test_a_secure_transfer_completes_identical_with_every_packet_through_the_layer() -> None:
    report = run_transfer(spec()).as_json()
    assert report["completed"] == 8 and report["all_identical"]
    protection = report["protection"]
    assert isinstance(protection, dict)
    assert protection["source"]["blocks_signed"] > 0
    assert protection["receivers"]["opened"] >= report["segments"]["original"]  # type: ignore[index]
    assert protection["receivers"]["dropped"] == 0


def test_the_same_seed_gives_the_same_secure_run() -> None:
    first, second = (without_wall_time(run_transfer(spec(crypto=CryptoCosts())).as_json()) for _ in range(2))
    assert first == second
    other = without_wall_time(run_transfer(spec(crypto=CryptoCosts(), seed=4)).as_json())
    assert other != first


def test_the_crypto_cost_model_caps_a_cpu_bound_transfer() -> None:
    clean = {"receivers": 2, "size": 4 << 20, "path": PathSpec(rate=100e6, delay=0.001)}
    costly = run_transfer(spec(**clean, crypto=CryptoCosts())).as_json()
    assert costly["all_identical"]
    for per_packet in (200e-6, 400e-6):  # a receiver opens at most 1 / per_packet packets a second
        capped = run_transfer(spec(**clean, crypto=CryptoCosts(open_group=per_packet))).as_json()
        cap = 1366 * 8 / per_packet
        assert capped["all_identical"]
        assert 0.8 * cap < capped["goodput_bps"] <= cap  # type: ignore[operator]


def test_costs_come_from_a_bench_crypto_report() -> None:
    report = {
        "signatures": {"ed25519_sign_us": 40.0, "ed25519_verify_us": 120.0, "x25519_agreement_us": 35.0},
        "layer": [
            {"block_packets": 16, "source_us_per_packet": 10.0, "receiver_us_per_packet": 16.0},
            {"block_packets": 64, "source_us_per_packet": 7.5, "receiver_us_per_packet": 9.875},
        ],
        "primitives": {
            "us_per_packet": {
                "chacha_seal": {"64": 0.8, "1400": 1.9},
                "chacha_open": {"64": 0.9, "1400": 1.8},
                "sha256_hashlib": {"64": 0.3, "1400": 1.4},
            }
        },
    }
    costs = CryptoCosts.from_bench(report)
    assert costs.seal_group == pytest.approx(6.875e-6) and costs.open_group == pytest.approx(8.0e-6)
    assert costs.sign_block == pytest.approx(40e-6) and costs.verify_block == pytest.approx(120e-6)
    assert costs.seal_unicast == pytest.approx((0.8 + 6.875 - 1.9 - 1.4) * 1e-6)


def test_sim_transfer_secure_on_the_command_line() -> None:
    argv = ["sim", "transfer", "--receivers", "4", "--size", "200K", "--secure", "--json", "--seed", "2"]
    out = subprocess.run([sys.executable, "-m", "smocast.cli.main", *argv], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["secure"] and report["all_identical"] and report["crypto_costs"]["verify_block_us"] == 121.8
    wrong = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", "sim", "transfer", "--crypto-costs", "x.json"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode != 0 and "--secure" in wrong.stderr
