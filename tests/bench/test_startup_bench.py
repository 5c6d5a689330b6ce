"""``smocast bench startup``: the secure receive it measures is a real one, and the children find their bytecode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smocast.bench import startup, startup_secure


@pytest.mark.network
def test_the_secure_receive_case_receives_the_file_and_reports_its_cpu_and_imports() -> None:
    report = startup.run(1, cases=[startup.SECURE_RECEIVE])
    [case] = report["cases"]
    assert case["name"] == "recv, secure receive" and "smocast send" in case["source"]
    assert case["this"]["cpu_ms_median"] > report["interpreter_cpu_ms"] > 0
    modules = [row["module"] for row in case["this"]["imports"]["heaviest"]]
    assert any(m.startswith("smocast.") for m in modules)
    assert report["bytecode_cache"] is True


@pytest.mark.network
def test_the_receiver_of_the_secure_case_gets_the_verified_file(tmp_path: Path) -> None:
    env = startup._environment(None)
    setup = startup_secure.prepare(tmp_path, env)
    source, argv = startup_secure.serve(setup, env)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "smocast.cli.main", *argv], env=env, capture_output=True, timeout=60, check=False
        )
    finally:
        startup_secure.finish_source(source)
    assert done.returncode == 0, done.stderr[-300:]
    report = json.loads(done.stdout)
    assert report["verified"] and report["security"]["secure"]
    assert report["security"]["source_key"] == setup.fingerprint
    out = Path(argv[argv.index("-o") + 1])
    assert (out / setup.payload.name).read_bytes() == setup.payload.read_bytes()


def test_a_failed_command_is_no_measure_when_it_must_succeed() -> None:
    argv = [sys.executable, "-c", "raise SystemExit(3)", "recv", "x"]
    assert startup.cpu_of(argv, startup._environment(None)) >= 0  # by default, measured anyway
    with pytest.raises(RuntimeError, match="failed"):
        startup.cpu_of(argv, startup._environment(None), must_succeed=True)


def test_the_children_cache_their_bytecode_under_the_given_prefix_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    prefix = str(tmp_path / "pycache")
    code = "import sys, json; print(json.dumps([sys.flags.dont_write_bytecode, sys.pycache_prefix]))"
    cached = subprocess.run(
        [sys.executable, "-c", code], env=startup._environment(None, prefix), capture_output=True, check=True
    )
    plain = subprocess.run(
        [sys.executable, "-c", code], env=startup._environment(None), capture_output=True, check=True
    )
    assert json.loads(cached.stdout) == [0, prefix]
    assert json.loads(plain.stdout) == [1, None]


def test_with_the_cache_a_run_leaves_the_trees_bytecode_in_the_prefix(tmp_path: Path) -> None:
    prefix = tmp_path / "pycache"
    env = startup._environment(None, str(prefix))
    subprocess.run([sys.executable, "-m", "smocast.cli.main", "--version"], env=env, capture_output=True, check=True)
    assert list(prefix.rglob("main.cpython-*.pyc"))  # smocast.cli.main's bytecode, kept for the next run
