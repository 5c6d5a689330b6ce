"""Errors that need no root: these run everywhere and change nothing on the machine.

They are deliberately not marked ``root``: they fake the checks instead of needing them.
"""

from __future__ import annotations

import os
import shutil

import pytest

from smocast.cli.main import main
from smocast.testbed import Testbed, TestbedError, TestbedUnavailable, validate_prefix


@pytest.mark.parametrize("bad", ["", "Smc", "1abc", "smc-x", "abcdefghi", "a b", "smc_"])
def test_prefixes_that_could_match_unrelated_names_are_refused(bad: str) -> None:
    with pytest.raises(TestbedError, match="bad testbed prefix"):
        validate_prefix(bad)
    with pytest.raises(TestbedError):
        Testbed(bad)


@pytest.mark.parametrize("good", ["smc", "a", "lab2", "abcdefgh"])
def test_plain_prefixes_are_accepted(good: str) -> None:
    assert Testbed(good).namespace(1) == f"{good}-h1"


def test_names_and_addresses_need_no_root() -> None:
    tb = Testbed("lab")
    assert (tb.namespace("h3"), tb.namespace("lab-h3"), tb.address(0), tb.address(254)) == (
        "lab-h3",
        "lab-h3",
        "10.77.0.1",
        "10.77.0.255",
    )
    assert tb.address(255) == "10.77.1.0"
    with pytest.raises(TestbedError, match="no host"):
        tb.namespace("sw")


def test_without_root_every_action_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(TestbedUnavailable, match="smocast testbed needs root to create network namespaces"):
        Testbed("smc").up(2)
    for argv in (["up", "--hosts", "2"], ["down"], ["status"], ["exec", "h1", "--", "true"]):
        assert main(["testbed", *argv]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "needs root" in err, err


def test_a_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "nft" else real(name) or f"/bin/{name}")
    with pytest.raises(TestbedUnavailable, match="needs the 'nft' command: install nftables"):
        Testbed("smc").down()


def test_a_bad_prefix_on_the_command_line_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["testbed", "status", "--prefix", "Bad-Name"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad testbed prefix" in err


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["testbed", "up", "--help"])
    assert "smocast testbed up --hosts" in capsys.readouterr().out
    assert main(["testbed"]) == 2
