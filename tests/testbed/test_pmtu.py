"""Path MTU discovery on the testbed: ``smocast send`` finds jumbo frames, and keeps to 1500 bytes
when one receiver's link takes no more (its switch port drops larger frames without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.testbed.test_transfer import assert_identical, outcome, start_receivers, start_sender, write_payload

from smocast.apps.processes import processes
from smocast.testbed import Testbed
from smocast.testbed.runner import ip_batch
from smocast.wire import DATA_HEADER_SIZE

IP_UDP = 28


def _send_and_check(tb: Testbed, tmp_path: Path) -> dict[str, object]:
    """2 MB from host 0 to one receiver on each of hosts 1 and 2 (secure mode); the source's pmtu report.

    At 40 Mbit/s the transfer lasts about 0.4 s: the search (up to three 50 ms probe timers at
    9000 bytes before 1500) ends well inside it. Unshaped, the veth links could finish the 2 MB
    first on a quick run, and the channel would report its base size, the search unfinished."""
    path = tmp_path / "payload.bin"
    digest = write_payload(path, 2 << 20, seed=91)
    with processes() as started:
        server = start_sender(tb, started, path, "--min-receivers", "2", "--rate", "40mbit")
        for rx in start_receivers(tb, started, server, range(1, 3), 1, tmp_path):
            assert_identical(rx, digest, path.name)
        sent = outcome(started[0])
    assert sent.code == 0 and sent.report is not None, sent.stderr
    pmtu: dict[str, object] = sent.report["pmtu"]
    return pmtu


@pytest.mark.root
def test_on_jumbo_links_the_channel_finds_the_9000_byte_segment(prefix: str, tmp_path: Path) -> None:
    with Testbed(prefix).running(hosts=3) as tb:
        tb.set_mtu(9000)
        pmtu = _send_and_check(tb, tmp_path)
    overhead = pmtu["overhead_bytes"]
    assert pmtu["enabled"] and pmtu["ceiling_mtu"] == 9000 and overhead == IP_UDP + 34  # secure: the envelope too
    assert pmtu["largest_segment"] == 9000 - overhead - DATA_HEADER_SIZE
    assert [row["mtu"] for row in pmtu["receivers"]] == [9000, 9000]  # type: ignore[attr-defined]


@pytest.mark.root
def test_one_receiver_behind_a_1500_link_holds_the_channel_at_1500(prefix: str, tmp_path: Path) -> None:
    with Testbed(prefix).running(hosts=3) as tb:
        tb.set_mtu(9000)
        ip_batch(tb.layout.switch, [f"link set {tb.layout.port(2)} mtu 1500"])  # frames over 1500 are dropped
        ip_batch(tb.namespace(2), [f"link set {tb.interface} mtu 1500"])
        pmtu = _send_and_check(tb, tmp_path)
    overhead = pmtu["overhead_bytes"]
    assert pmtu["largest_segment"] == 1500 - overhead - DATA_HEADER_SIZE  # never above what host 2 takes
    assert sorted(row["mtu"] for row in pmtu["receivers"]) == [1500, 9000]  # type: ignore[attr-defined]
