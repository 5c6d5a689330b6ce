"""``smocast bench offload``'s arguments: what it refuses, and says why (the probes run in the testbed tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (["--veth-gro"], "--veth-gro needs --testbed"),
        (["--count", "64", "--size", "1400"], "at most 65,000 bytes"),
    ],
)
def test_the_command_refuses_what_it_cannot_probe_and_names_it(extra: list[str], complaint: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", "bench", "offload", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and complaint in done.stderr, done.stderr
