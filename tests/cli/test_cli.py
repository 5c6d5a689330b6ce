from __future__ import annotations

import json

import pytest

from smocast.cli.main import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "sim" in out and "bench" in out and "demo" in out


def test_sim_transfer_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "sim",
            "transfer",
            "--receivers",
            "10",
            "--size",
            "64K",
            "--loss",
            "0.05",
            "--ack-loss",
            "0.02",
            "--seed",
            "3",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in (
        "receivers",
        "completed",
        "dropped",
        "all_identical",
        "bytes",
        "sim_time_s",
        "goodput_bps",
        "segments",
        "acks_processed",
        "seed",
        "wall_time_s",
    ):
        assert key in report
    assert set(report["segments"]) == {"original", "repair_unicast", "repair_multicast"}
    assert report["receivers"] == 10 and report["completed"] == 10 and report["all_identical"]
    assert report["bytes"] == 65536 and report["seed"] == 3


def test_sim_transfer_same_seed_same_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sim", "transfer", "--receivers", "8", "--size", "40K", "--loss", "0.1", "--seed", "9", "--json"]
    main(argv)
    first = json.loads(capsys.readouterr().out)
    main(argv)
    second = json.loads(capsys.readouterr().out)
    first.pop("wall_time_s")
    second.pop("wall_time_s")
    assert first == second


def test_sim_transfer_summary_is_short(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "transfer", "--receivers", "5", "--size", "20K"]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 completed" in out and "SHA-256" in out
    assert len(out.splitlines()) < 15


def test_sim_transfer_fails_when_a_receiver_was_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sim", "transfer", "--receivers", "4", "--size", "100K", "--loss", "0.3", "--burst", "10"]
    assert main([*argv, "--progress-timeout", "0.3s", "--seed", "2", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["dropped"] >= 1 and report["all_identical"]


@pytest.mark.parametrize(
    "argv",
    [
        ["sim", "transfer", "--loss", "1.5"],
        ["sim", "transfer", "--size", "lots"],
        ["sim", "transfer", "--receivers", "0"],
        ["sim", "transfer", "--rate", "fast"],
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_bad_policy_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "transfer", "--policy", "fastest"]) == 2
    assert "unknown window policy" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["sim", "transfer"], ["send", "nothing.bin", "--group", "232.1.1.1:5000"]])
def test_an_unknown_congestion_controller_is_a_clear_error(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--congestion", "cubic"]) == 2  # before any file is read or socket opened
    assert "unknown congestion controller 'cubic'; known: fixed, lossfilter, newreno" in capsys.readouterr().err


def test_sim_transfer_takes_the_loss_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["sim", "transfer", "--receivers", "3", "--size", "200K", "--loss", "0.02", "--congestion", "lossfilter"])
        == 0
    )
    assert "3 of 3 completed" in capsys.readouterr().out


def test_sim_transfer_takes_a_slower_lane_and_reports_the_congestion_it_caused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sim", "transfer", "--receivers", "3", "--size", "200K", "--delay", "1ms", "--json"]
    assert main([*argv, "--lane", "0.05:10ms", "--congestion", "newreno"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lane"] == {"share": 0.05, "delay_s": 0.01} and report["all_identical"]
    assert report["congestion"]["loss_episodes"] >= report["congestion"]["window_cuts"] > 0


@pytest.mark.parametrize("lane", ["0.05", "2:10ms", "0.05:soon"])
def test_sim_transfer_refuses_a_lane_it_cannot_read(lane: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", "transfer", "--lane", lane])
    assert exit_info.value.code == 2
    assert "--lane" in capsys.readouterr().err
