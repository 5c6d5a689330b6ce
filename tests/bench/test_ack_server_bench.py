"""``bench ack-server``: a real source on loopback, ACKed by a load-generator process.

Behaviour only: the ACKs are valid and accepted, and the counts are consistent. No test here
looks at a rate.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smocast.aio.sockets import loopback_multicast_works
from smocast.bench import ack_loadgen, ack_server
from smocast.wire import encode_ack, plain_ack_fields

needs_multicast = pytest.mark.skipif(not loopback_multicast_works(), reason="multicast on 127.0.0.1 does not work")


def test_the_generators_fast_ack_is_byte_for_byte_the_wire_format() -> None:
    data = ack_loadgen.plain_ack(7, 42, 123_456_789, 11_200, 987_654)
    assert data == encode_ack(channel=7, connection=42, ack=123_456_789, window=11_200, tsval=0, tsecr=987_654)[0]
    assert plain_ack_fields(data) == (7, 42, 123_456_789, 11_200, 987_654, 0)


def test_receivers_are_split_over_generators_with_distinct_connection_ids() -> None:
    shares = ack_server.split(10, 3)
    assert [count for count, _ in shares] == [4, 3, 3]
    ids = [first + k for count, first in shares for k in range(count)]
    assert ids == list(range(1, 11))


@pytest.mark.parametrize(
    "bad", [{"receivers": 0}, {"generators": 3, "receivers": 2}, {"duration": 0}, {"window_segments": 1}]
)
def test_impossible_settings_are_refused(bad: dict[str, int]) -> None:
    values = {"receivers": 10, "duration": 1.0, **bad}
    with pytest.raises(ValueError):
        ack_server.Settings(**values)  # type: ignore[arg-type]


@needs_multicast
@pytest.mark.network
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", [[], ["--secure"]], ids=["insecure", "secure"])
def test_a_tiny_run_reports_accepted_acks_that_never_exceed_those_sent(mode: list[str]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smocast.cli.main",
            "bench",
            "ack-server",
            "--receivers",
            "20",
            "--duration",
            "0.5s",
            "--warmup",
            "0.2s",
            "--repeat",
            "1",
            "--json",
            *mode,
        ],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["benchmark"] == "ack-server" and report["receivers"] == 20
    (run,) = report["runs"]
    assert run["acks_processed"] > 0 and run["generator_acks_sent"] > 0
    assert 0 < run["acks_processed_total"] <= run["acks_sent_total"]
    assert run["acks_lost"] == run["acks_sent_total"] - run["acks_processed_total"]
    assert run["receivers_live_at_end"] == 20  # every ACK was valid: nobody was dropped
    assert run["mean_bytes_per_ack"] > 0  # the ACKs advanced the receivers (accepted, not ignored)
    assert run["data_segments_sent"] > 0  # ... and released new data
    assert 0 < run["source_cpu_utilisation"] <= 1.05
    assert report["acks_per_s"] == run["acks_per_s"] > 0
    assert report["cpu_ns_per_ack"] == run["cpu_ns_per_ack"] > 0


def test_bad_arguments_exit_with_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", "bench", "ack-server", "--receivers", "2", "--generators", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "generators" in result.stderr and result.stdout == ""
