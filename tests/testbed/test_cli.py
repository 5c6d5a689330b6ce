"""``smocast testbed``: the command line on a real testbed (root)."""

from __future__ import annotations

import json

import pytest

from smocast.cli.main import main


@pytest.mark.root
def test_up_status_exec_down(prefix: str, capfd: pytest.CaptureFixture[str]) -> None:
    """``capfd``: the command run by ``exec`` writes to the real stdout, not to sys.stdout."""
    assert main(["testbed", "up", "--hosts", "3", "--rate", "50mbit", "--loss", "0.02", "--prefix", prefix]) == 0
    assert "is up: 3 hosts" in capfd.readouterr().out
    assert main(["testbed", "status", "--prefix", prefix, "--json"]) == 0
    report = json.loads(capfd.readouterr().out)
    assert report["up"] is True
    assert report["switch"] == f"{prefix}-sw"
    assert [h["address"] for h in report["hosts"]] == ["10.77.0.1", "10.77.0.2", "10.77.0.3"]
    assert [h["loss"] for h in report["hosts"]] == [0.0, 0.02, 0.02]
    assert {h["rate_bps"] for h in report["hosts"]} == {50e6}
    assert main(["testbed", "exec", "h2", "--prefix", prefix, "--", "sh", "-c", "exit 5"]) == 5
    assert main(["testbed", "exec", "--prefix", prefix, "1", "--", "ip", "-br", "addr"]) == 0
    assert "10.77.0.2/16" in capfd.readouterr().out
    assert main(["testbed", "status", "--prefix", prefix]) == 0
    assert f"{prefix}-h2" in capfd.readouterr().out
    assert main(["testbed", "down", "--prefix", prefix]) == 0
    assert main(["testbed", "down", "--prefix", prefix]) == 0
    assert "nothing to remove" in capfd.readouterr().out
    assert main(["testbed", "status", "--prefix", prefix, "--json"]) == 0
    assert json.loads(capfd.readouterr().out)["up"] is False


@pytest.mark.root
def test_errors_are_one_line_with_a_non_zero_exit(prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["testbed", "exec", "h1", "--prefix", prefix, "--", "true"]) == 1
    err = capsys.readouterr().err
    assert "is not up" in err and err.count("\n") == 1
    assert main(["testbed", "up", "--hosts", "2000", "--prefix", prefix]) == 1
    assert "1 to 1000 hosts" in capsys.readouterr().err
