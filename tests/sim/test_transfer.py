"""End-to-end TCP-SMO transfers in the simulator, every byte checked by SHA-256."""

from __future__ import annotations

import pytest

from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, _Run, run_transfer
from smocast.smo.events import DropReason

MB = 1_000_000


def test_200_receivers_1mb_5_percent_independent_loss() -> None:
    result = run_transfer(TransferSpec(receivers=200, size=MB, path=PathSpec(loss=0.05), seed=11))
    report = result.as_json()
    assert report["completed"] == 200 and report["dropped"] == 0
    assert report["all_identical"]
    assert report["segments"]["repair_unicast"] + report["segments"]["repair_multicast"] > 0


def test_200_receivers_with_2_percent_ack_loss_too() -> None:
    result = run_transfer(TransferSpec(receivers=200, size=MB, path=PathSpec(loss=0.05, ack_loss=0.02), seed=12))
    report = result.as_json()
    assert report["completed"] == 200 and report["dropped"] == 0
    assert report["all_identical"]


def test_bursty_and_correlated_loss() -> None:
    path = PathSpec(loss=0.02, burst=5.0, shared_loss=0.02, subtree_size=10)
    # Bursts are counted in packets, so a bad spell can outlast several backed-off timeouts:
    # give the receivers more than the default 10 s before "no progress" drops them.
    result = run_transfer(TransferSpec(receivers=50, size=MB // 2, path=path, seed=13, progress_timeout=60.0))
    report = result.as_json()
    assert report["completed"] == 50 and report["all_identical"]
    assert report["segments"]["repair_multicast"] > 0  # a subtree loss is repaired to the group


def test_a_receiver_that_hangs_at_one_eighth_is_dropped_and_the_rest_complete() -> None:
    result = run_transfer(TransferSpec(receivers=20, size=MB, stall=1, stall_at=0.125, path=PathSpec(loss=0.01)))
    report = result.as_json()
    assert report["dropped"] == 1 and report["completed"] == 19
    assert report["all_identical"]
    (drop,) = result.drop_events
    assert drop.reason is DropReason.NO_PROGRESS
    hung = result.outcomes[0]
    assert hung.completed_at is None and MB // 8 <= hung.received < MB


def test_late_joiner_in_continuous_mode_starts_at_the_current_sequence() -> None:
    spec = TransferSpec(
        receivers=4,
        size=400_000,
        continuous=True,
        source_rate=200_000,
        late_joiners=1,
        late_join_at=0.8,
        path=PathSpec(loss=0.02),
    )
    result = run_transfer(spec)
    late = result.outcomes[-1]
    assert late.start is not None and 100_000 < late.start < 300_000
    assert late.completed_at is not None and late.identical  # the source's bytes from its start onward
    assert all(o.completed_at is not None and o.identical for o in result.outcomes)


def _completion_and_drop(policy: str) -> tuple[float, float, str]:
    result = run_transfer(TransferSpec(receivers=10, size=MB, stall=1, policy=policy, path=PathSpec(loss=0.01)))
    others = [o.completed_at for o in result.outcomes[1:]]
    assert all(t is not None for t in others)
    assert all(o.identical for o in result.outcomes[1:])
    (drop,) = result.drop_events
    return max(t for t in others if t is not None), drop.at, drop.reason.value


def test_slowest_waits_for_the_hung_receiver_until_it_is_dropped() -> None:
    finish, dropped_at, _ = _completion_and_drop("slowest")
    assert finish > dropped_at


@pytest.mark.parametrize("policy", ["quorum:0.8", "buffer:256K"])
def test_quorum_and_buffer_release_data_without_the_slowest(policy: str) -> None:
    finish, dropped_at, reason = _completion_and_drop(policy)
    assert finish < dropped_at or reason == DropReason.FELL_BEHIND.value
    assert finish < 10.0  # well before the 10 s progress timeout would have freed the channel


def test_same_seed_same_result() -> None:
    spec = TransferSpec(receivers=30, size=300_000, path=PathSpec(loss=0.03, ack_loss=0.01), seed=5)
    first = run_transfer(spec).as_json()
    second = run_transfer(spec).as_json()
    first.pop("wall_time_s")
    second.pop("wall_time_s")
    assert first == second
    other = run_transfer(TransferSpec(receivers=30, size=300_000, path=PathSpec(loss=0.03, ack_loss=0.01), seed=6))
    assert other.as_json()["sim_time_s"] != first["sim_time_s"]


def test_a_busy_source_loses_acks_but_still_delivers() -> None:
    spec = TransferSpec(
        receivers=100, size=200_000, source_cpu_per_packet=100e-6, source_cpu_queue=200, path=PathSpec(rate=None)
    )
    report = run_transfer(spec).as_json()
    assert report["source_cpu_drops"] > 0
    assert report["all_identical"] and report["completed"] == 100


def test_an_overloaded_source_stalls_some_receivers_as_the_paper_saw_at_1500() -> None:
    # 100 receivers at 300 us per packet overloaded the source only while each multicast repair
    # drew an ACK from every receiver that had the segment; without those ACKs it keeps up there
    spec = TransferSpec(
        receivers=120, size=200_000, source_cpu_per_packet=500e-6, source_cpu_queue=30, path=PathSpec(rate=None)
    )
    result = run_transfer(spec)
    report = result.as_json()
    assert report["dropped"] > 0
    # receivers whose ACKs the source drops: silent for the progress timeout, kept alive by
    # their few answers but far slower than the rest for three progress windows, or with a
    # round trip (its ACKs wait in the source's queue; repairs are timed too) far above the median
    reasons = {DropReason.NO_PROGRESS, DropReason.TOO_SLOW, DropReason.RTT_EXCESSIVE}
    assert {e.reason for e in result.drop_events} <= reasons
    assert report["completed"] + report["dropped"] == 120
    assert report["all_identical"]


def test_send_rate_paces_the_application_not_the_links() -> None:
    spec = TransferSpec(receivers=3, size=200 * 1448, mss=1448, source_rate=100 * 1448)  # 100 segments/s
    run = _Run(spec)
    report = run.run().as_json()
    assert report["completed"] == 3 and report["all_identical"]
    assert report["segments"]["original"] == 200  # whole segments, no runts
    assert 1.9 < report["sim_time_s"] < 2.3  # two seconds of writing, plus the last round trip
    source_downlink = run.topology.network.attachments()[0].downlink
    assert source_downlink.rate == 100e6  # the ACK path keeps the link rate


def test_lossy_receivers_limits_loss_to_k_receivers_spread_evenly() -> None:
    path = PathSpec(loss=0.05, lossy_receivers=4)
    assert [i for i in range(10) if path.is_lossy(i, 10)] == [2, 4, 7, 9]
    run = _Run(TransferSpec(receivers=10, size=MB // 4, path=path))
    assert run.run().as_json()["completed"] == 10
    receivers = run.topology.network.attachments()[1:]
    lossy = [i for i, a in enumerate(receivers) if a.downlink.drops_loss > 0]
    assert lossy == [2, 4, 7, 9]


def test_fixed_window_holds_the_window_the_spec_asks_for() -> None:
    spec = TransferSpec(receivers=2, size=MB // 2, congestion="fixed", max_window=64 * 1024)
    config = spec.channel_config()
    assert config.congestion_control == "fixed" and config.max_window == 64 * 1024
    assert run_transfer(spec).as_json()["completed"] == 2


def test_a_receiver_holding_fewer_segments_than_the_ack_frequency_gets_no_tail_probe() -> None:
    # 100 segments/s, one ACK per 4: at the end each receiver holds the last segments for its
    # delayed-ACK timer; the source must allow for that before probing (RFC 8985 7.2).
    spec = TransferSpec(receivers=20, size=100 * 1448, mss=1448, source_rate=100 * 1448, ack_every=4)
    report = run_transfer(spec).as_json()
    assert report["completed"] == 20
    assert report["segments"]["repair_unicast"] == 0 and report["segments"]["repair_multicast"] == 0


def test_a_path_that_reorders_delivers_identical_copies() -> None:
    path = PathSpec(delay=0.001, jitter=0.002, queue_bytes=1 << 20)
    report = run_transfer(TransferSpec(receivers=4, size=MB // 2, path=path, seed=5, max_window=256 * 1024)).as_json()
    assert report["completed"] == 4 and report["all_identical"]
    assert report["jitter_s"] == 0.002
