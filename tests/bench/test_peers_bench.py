"""``bench peers``: the benchmark works; no test here looks at a time or a rate.

The root test runs the real command at a tiny size with every peer installed here and checks
the report's structure, that every copy was identical, and that the egress of multicast stays
near one file while N x TCP sends N. The rest checks the pieces without root: settings, the
parsing of uftp's log, the sampler's arithmetic, the ratios, and the start-up figure it carries.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import smocast
from smocast.bench import bytecode, peers, peers_report, peers_table, peers_tools
from smocast.bench.peers_procs import Sampler, Watched, _Series
from smocast.cli.main import main
from smocast.testbed import Testbed

PREFIX = "bpt"


# --- settings and tools ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"peers": ["smocast", "mtftp"]}, "--peers"),
        ({"peers": ["tcp", "tcp"]}, "--peers"),
        ({"mtu": 900}, "--mtu"),
        ({"loss": 1.0}, "--loss"),
        ({"receivers": [0, 4]}, "at least 1"),
        ({"receivers": [1000]}, "at most"),
        ({"repeat": 0}, "--repeat"),
        ({"prefix": "Bad-Prefix"}, "prefix"),
        ({"peers": ["smocast", "smocast-baseline"]}, "--baseline-src"),
        ({"baseline_src": "."}, "--baseline-src"),
        ({"congestion": "cubic"}, "unknown congestion controller 'cubic'; known: .*lossfilter"),
        ({"send_rate": "1kbit"}, "--smocast-rate '1kbit' is below 8 kbit/s"),
        ({"reorder": 1.0}, "--reorder must be in"),
        ({"reorder": 0.05, "rate": "unlimited"}, "--reorder needs a link rate"),
    ],
)
def test_bad_settings_are_refused_with_the_option_named(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(Exception, match=complaint):
        peers.PeersSettings(**change)


def test_unlimited_means_no_shaper_and_a_rate_is_parsed() -> None:
    assert peers.PeersSettings(rate="unlimited").rate_bps is None
    assert peers.PeersSettings(rate="100mbit").rate_bps == 100e6


def test_a_missing_tool_skips_its_peer_and_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers_tools.shutil, "which", lambda name: None if name.startswith("uftp") else "/bin/x")
    ready, skipped = peers.available_peers(peers.PeersSettings())
    assert ready == ["smocast", "udpcast", "tcp"]
    assert skipped == [{"peer": "uftp", "missing": ["uftp", "uftpd"], "install": "apt install uftp"}]


def test_each_peer_fills_the_mtu_with_one_datagram_and_no_more() -> None:
    assert peers_tools.udpcast_block(1500) == 1456  # udpcast's own default, made for 1500
    assert peers_tools.uftp_block(1500) == 1448
    assert peers_tools.uftp_block(9000) == 8800  # uftp's limit


UFTP_LOG = """\
2026/11/30 05:04:23.072704: [68ADEFC0/00:0001]: Sending FILEINFO 1.1
2026/11/30 05:04:23.103428: [68ADEFC0/00:0001]: Sending FILEINFO 2.1
2026/11/30 05:04:23.526783: [68ADEFC0/00:0001]: Got COMPLETE from client 0x0a4d0002
2026/11/30 05:04:23.527360: [68ADEFC0/00:0001]: Got COMPLETE from client 0x0a4d0003
RESULT;0x0a4d0002;f.bin;4882KB;copy;11589.95KB/s
2026/11/30 05:04:23.528080: [68ADEFC0/00:0]: Got COMPLETE from client 0x0a4d0002
"""


def test_uftp_times_run_from_the_first_fileinfo_to_each_clients_first_complete() -> None:
    start, ends = peers_tools.uftp_times(UFTP_LOG)
    assert start is not None
    assert ends.keys() == {"0x0a4d0002", "0x0a4d0003"}
    assert ends["0x0a4d0002"] - start == pytest.approx(0.454079, abs=1e-5)  # the file's, not the group's
    assert ends["0x0a4d0003"] - start == pytest.approx(0.454656, abs=1e-5)
    assert peers_tools.uftp_client_id("10.77.0.2") == "0x0a4d0002"


def test_receivers_still_waiting_after_their_source_ended_are_killed_and_said_to_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(peers_tools, "GRACE_S", 0.3)
    ctx = peers_tools.RunContext(
        None, Path(), "", 1, 0, 0, Path(), 1500, None, None, time.monotonic() + 60,  # type: ignore[arg-type]
    )  # fmt: skip

    def start(*argv: str) -> Watched:
        return Watched(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

    source, waiting = start(sys.executable, "-c", "pass"), start("sleep", "60")
    sent, [received] = ctx.finish(source, [waiting])
    assert sent.code == 0 and not sent.timed_out
    assert received.timed_out and received.code != 0
    assert "still running" in peers_tools._ended("udp-receiver", received)


# --- bytecode: the processes run from cached .pyc files, as an installed copy does -------------------


def test_the_processes_keep_their_bytecode_even_where_the_environment_says_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("SMOCAST_TEST_MARK", "kept")
    env = bytecode.child_environment()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["SMOCAST_TEST_MARK"] == "kept"
    assert bytecode.child_environment("/other/src")["PYTHONPATH"] == "/other/src"


def test_the_trees_are_compiled_before_the_runs_and_a_broken_one_is_named(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    modules = [package / "a.py", package / "sub" / "b.py"]
    for module in modules:
        module.write_text("VALUE = 1\n")
    bytecode.compile_trees([package])
    assert all(Path(importlib.util.cache_from_source(str(module))).is_file() for module in modules)
    (package / "broken.py").write_text("def (:\n")
    with pytest.raises(RuntimeError, match=r"could not compile .*pkg"):
        bytecode.compile_trees([package])


def test_the_packages_compiled_are_the_ones_the_runs_import(tmp_path: Path) -> None:
    this = Path(smocast.__file__).parent
    (tmp_path / "smocast").mkdir()
    settings = peers.PeersSettings(receivers=[1], peers=["smocast", "smocast-baseline"], baseline_src=str(tmp_path))
    assert peers._smocast_packages(settings, ["smocast", "smocast-baseline"]) == [this, tmp_path / "smocast"]
    assert peers._smocast_packages(settings, ["udpcast"]) == []


# --- the sampler's arithmetic ---------------------------------------------------------------------


def test_a_series_interpolates_between_samples_and_knows_nothing_outside_them() -> None:
    series = _Series()
    for at, value in ((10.0, 1.0), (11.0, 3.0), (12.0, 3.0)):
        series.add(at, value)
    assert series.at(10.5) == pytest.approx(2.0)
    assert series.at(12.0) == 3.0
    assert series.at(9.0) is None and series.at(12.5) is None


def test_cpu_in_a_window_uses_the_final_total_once_the_process_is_gone() -> None:
    sampler = Sampler(os.getpid(), "no-such-interface")
    sampler.stop()
    sampler.watch(42)
    for at, cpu in ((100.0, 0.5), (101.0, 0.9), (102.0, 1.3)):
        sampler._cpu[42].add(at, cpu)
    assert sampler.cpu_between(42, 100.5, 101.5, final_cpu=2.0) == pytest.approx(0.4)  # 0.7 to 1.1
    assert sampler.cpu_between(42, 101.0, 105.0, final_cpu=2.0) == pytest.approx(1.1)  # exited inside
    assert sampler.cpu_between(42, 99.0, 100.0, final_cpu=2.0) == pytest.approx(0.5)  # started inside
    assert sampler.cpu_between(7, 100.0, 101.0, final_cpu=1.0) is None  # never watched


def test_data_starts_at_the_beginning_of_the_first_period_with_a_burst() -> None:
    sampler = Sampler(os.getpid(), "no-such-interface")
    sampler.stop()
    for at, sent in ((1.00, 0), (1.02, 600), (1.04, 1500), (1.06, 90_000), (1.08, 300_000)):
        sampler.sent.add(at, sent)  # handshakes, then data
    assert sampler.data_started_at() == 1.04
    quiet = Sampler(os.getpid(), "no-such-interface")
    quiet.stop()
    assert quiet.data_started_at() is None


# --- medians and ratios ---------------------------------------------------------------------------


def _record(peer: str, round_: int, completion: float | None, rx_cpu: float = 1.0) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(peers_report.METRICS, 1.0)
    record.update(
        peer=peer, round=round_, all_identical=completion is not None, completion_s=completion,
        receivers_cpu_during_per_mb_s=rx_cpu, other_cores_during=0.0,
    )  # fmt: skip
    return record


def test_ratios_pair_runs_of_the_same_round_and_skip_failed_ones() -> None:
    by_peer = {
        "smocast": [_record("smocast", 1, 2.0), _record("smocast", 2, 4.0), _record("smocast", 3, 3.0)],
        "udpcast": [_record("udpcast", 1, 1.0), _record("udpcast", 2, None), _record("udpcast", 3, 3.0)],
    }
    middle = {peer: peers_report.medians(runs) for peer, runs in by_peer.items()}
    assert middle["udpcast"]["runs_all_identical"] == 2
    assert middle["udpcast"]["completion_s"] == 2.0
    ratio = peers_report.ratios(by_peer, middle)["udpcast"]["completion_s"]
    assert ratio["of_medians"] == pytest.approx(3.0 / 2.0)
    assert ratio["paired_median"] == pytest.approx(1.5)  # rounds 1 (2.0) and 3 (1.0); round 2 failed


def test_goals_compare_smocast_with_udpcast_and_under_loss_with_the_faster_peer_of_each_round() -> None:
    by_peer = {
        "smocast": [_record("smocast", 1, 6.0, rx_cpu=3.0), _record("smocast", 2, 8.0, rx_cpu=3.0)],
        "udpcast": [_record("udpcast", 1, 3.0), _record("udpcast", 2, None)],  # round 2: a copy was lost
        "uftp": [_record("uftp", 1, 2.0), _record("uftp", 2, 4.0)],
    }
    middle = {peer: peers_report.medians(runs) for peer, runs in by_peer.items()}
    row = {"receivers": 16, "medians": middle, "ratios": peers_report.ratios(by_peer, middle), "runs": by_peer}
    clean = peers_report.goals([row], loss=0.0, startup=None)["N=16"]
    assert clean["completion_vs_udpcast"] == {"ratio": 2.0, "at_most": 1.0, "met": False}  # round 1 only
    assert clean["receivers_cpu_per_mb_vs_udpcast"]["ratio"] == 3.0
    lossy = peers_report.goals([row], loss=0.02, startup=None)["N=16"]
    assert lossy["completion_vs_best_peer"]["ratio"] == 2.5  # 6/2 (uftp) and 8/4 (uftp; udpcast failed)
    assert "completion_vs_udpcast" not in lossy


# --- start-up -----------------------------------------------------------------------------------


def test_the_report_carries_bench_startups_figure_for_smocast_recv_and_the_goal_reads_it() -> None:
    boot = peers.recv_startup(1)
    [case] = boot["cases"]
    assert case["name"] == "recv, secure receive" and case["command"].startswith("smocast recv ")
    assert case["this"]["cpu_ms_median"] > 0 and boot["interpreter_cpu_ms"] > 0
    goal = peers_report.goals([], loss=0.0, startup=boot)["startup_cpu_s"]
    assert goal["value"] == case["this"]["cpu_ms_median"] / 1e3 and goal["at_most"] == 0.15


# --- the command ----------------------------------------------------------------------------------


def test_without_root_the_command_says_so_in_one_line_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    code = main(["bench", "peers", "--receivers", "1", "--size", "64K", "--prefix", PREFIX])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert "root" in err and len(err.splitlines()) == 1


def test_an_unknown_peer_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "peers", "--peers", "smocast,ftp"]) == 2
    assert "--peers" in capsys.readouterr().err


@pytest.fixture
def testbed_down() -> Iterator[None]:
    yield
    Testbed(PREFIX).down()  # the benchmark tears down itself; this covers a test killed half-way


@pytest.mark.root
@pytest.mark.timeout(300)
@pytest.mark.usefixtures("testbed_down")
def test_every_available_peer_delivers_identical_copies_and_the_report_says_so(tmp_path: Path) -> None:
    figure = tmp_path / "peers.png"
    argv = ["bench", "peers", "--receivers", "1,2", "--size", "256K", "--repeat", "1", "--startup-runs", "1"]
    result = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", *argv, "--prefix", PREFIX, "--plot", str(figure), "--json"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    ran = report["peers"]
    assert ran[0] == "smocast" and "tcp" in ran
    assert sorted(ran + [s["peer"] for s in report["skipped"]]) == sorted(peers.DEFAULT_PEERS)
    for skip in report["skipped"]:
        assert f"skipping {skip['peer']}" in result.stderr and "apt install" in result.stderr
    assert [row["receivers"] for row in report["results"]] == [1, 2]
    for row in report["results"]:
        _check_row(row, ran)
    two = report["results"][1]["medians"]
    assert two["smocast"]["egress_ratio"] < 1.5  # sent once to the group
    assert 1.8 < two["tcp"]["egress_ratio"] < 2.5  # once per receiver
    assert report["startup"]["cases"][0]["this"]["cpu_ms_median"] > 0
    assert "startup_cpu_s" in report["goals"]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tables = peers_table.markdown(report)
    assert "| 2 | smocast | 1 of 1 |" in tables
    # a row per peer, the ratios, and what smocast's path MTU discovery found (its one run at N = 2)
    assert sum(line.startswith("| 2 |") for line in tables.splitlines()) == len(ran) + 2
    assert "| 2 | 1 | 1456 B | 1500 | yes |" in tables  # 1500 - 28 (IP, UDP) - 16 (the data header)
    assert Testbed(PREFIX).hosts == 0  # torn down


def _check_row(row: dict[str, Any], ran: list[str]) -> None:
    n = row["receivers"]
    assert set(row["runs"]) == set(ran) and set(row["ratios"]) == set(ran) - {"smocast"}
    for peer, [run] in row["runs"].items():
        assert run["all_identical"] and run["copies_identical"] == n, (peer, run["errors"])
        assert len(run["receiver_times_s"]) == n and run["completion_s"] == max(run["receiver_times_s"])
        assert run["goodput_min_bps"] <= run["goodput_median_bps"]
        assert run["sender_cpu_total_s"] > 0 and run["receivers_cpu_total_s"] > 0
        assert run["receivers_cpu_during_s"] is not None and run["sender_cpu_during_s"] is not None
        assert run["other_cores_during"] is not None
        assert run["commands"]["source"] and run["commands"]["receiver"]
        assert sys.executable not in json.dumps(run["commands"])  # no paths of this machine in the report
        assert "TMP/" in run["commands"]["receiver"] or peer == "tcp"  # where the copies went, portably
        assert row["medians"][peer]["runs_all_identical"] == 1
    for ratio in row["ratios"].values():
        assert ratio["completion_s"]["paired_median"] == ratio["completion_s"]["of_medians"]  # one round


@pytest.mark.root
@pytest.mark.timeout(200)
@pytest.mark.usefixtures("testbed_down")
def test_smocast_baseline_runs_smocast_from_the_other_tree(tmp_path: Path) -> None:
    broken = tmp_path / "src" / "smocast" / "cli"
    broken.mkdir(parents=True)
    for package in (broken.parent, broken):
        (package / "__init__.py").write_text("")
    (broken / "main.py").write_text("import sys\nsys.exit('this tree cannot send')\n")
    argv = ["bench", "peers", "--receivers", "1", "--size", "64K", "--repeat", "1", "--startup-runs", "0"]
    argv += ["--peers", "smocast,smocast-baseline", "--baseline-src", str(tmp_path / "src"), "--prefix", PREFIX]
    command = [sys.executable, "-m", "smocast.cli.main", *argv, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)["results"]
    [mine], [theirs] = row["runs"]["smocast"], row["runs"]["smocast-baseline"]
    assert mine["all_identical"]
    assert not theirs["all_identical"] and "this tree cannot send" in theirs["errors"][0]


@pytest.mark.root
@pytest.mark.timeout(200)
@pytest.mark.usefixtures("testbed_down")
def test_smocast_runs_with_the_congestion_control_and_the_rate_asked_for() -> None:
    argv = ["bench", "peers", "--receivers", "1", "--size", "64K", "--repeat", "1", "--startup-runs", "0"]
    argv += ["--peers", "smocast", "--congestion", "lossfilter", "--smocast-rate", "50mbit", "--prefix", PREFIX]
    command = [sys.executable, "-m", "smocast.cli.main", *argv, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [row] = report["results"]
    [run] = row["runs"]["smocast"]
    assert report["smocast_congestion"] == "lossfilter" and report["smocast_send_rate"] == "50mbit"
    assert run["all_identical"] and "--congestion lossfilter --rate 50mbit" in run["commands"]["source"]
    events = run["smocast_congestion_events"]  # what the source's report counted, kept per run
    assert (
        set(events) >= {"loss_episodes", "window_cuts", "receivers_reordering"} and events["receivers_reordering"] == 0
    )
