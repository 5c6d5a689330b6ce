"""``smocast keygen`` and ``smocast key fingerprint``: files made safe, fingerprints printed, errors explained."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from smocast.cli.main import main
from smocast.secure.identity import parse_fingerprint


def outcome(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "smocast"


def test_keygen_makes_a_private_key_only_its_owner_reads_and_says_its_fingerprint(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = outcome(["keygen", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["key_file"] == str(config / "identity.key")
    assert stat.S_IMODE((config / "identity.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    parse_fingerprint(report["fingerprint"])
    code, out, _ = outcome(["key", "fingerprint"], capsys)
    assert code == 0 and out == report["fingerprint"] + "\n"
    code, out, _ = outcome(["key", "fingerprint", "--file", report["public_file"], "--json"], capsys)
    assert json.loads(out)["fingerprint"] == report["fingerprint"]


def test_keygen_keeps_an_existing_key_unless_forced(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome(["keygen"], capsys)
    first = (config / "identity.key").read_bytes()
    code, out, err = outcome(["keygen", "--json"], capsys)
    assert code == 1
    assert json.loads(out)["error"]["kind"] == "file"
    assert "already exists" in err and "--force" in err
    assert (config / "identity.key").read_bytes() == first
    code, _, _ = outcome(["keygen", "--force"], capsys)
    assert code == 0 and (config / "identity.key").read_bytes() != first


def test_a_key_readable_by_others_is_refused_with_the_command_that_fixes_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome(["keygen"], capsys)
    (config / "identity.key").chmod(0o644)
    code, out, err = outcome(["key", "fingerprint", "--json"], capsys)
    assert code == 1
    assert json.loads(out)["error"]["kind"] == "file"
    assert f"chmod 600 {config / 'identity.key'}" in err


def test_no_key_yet_says_how_to_make_one(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = outcome(["key", "fingerprint"], capsys)
    assert code == 1 and "smocast keygen" in err
