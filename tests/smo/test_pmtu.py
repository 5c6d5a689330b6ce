"""The path MTU prober of one receiver (RFC 8899's states), and the PROBE/PROBE_ACK formats."""

from __future__ import annotations

import pytest

from smocast.core.errors import LocalProtocolError
from smocast.smo.pmtu import (
    CONFIRM_INTERVAL,
    MAX_PROBES,
    MIN_PROBE_TIMER,
    RAISE_INTERVAL,
    PathProber,
    ProbePlan,
    ProbeState,
)
from smocast.wire import HEADER_SIZE, DecodeError, Packet, PacketType, decode, encode
from smocast.wire import build as packets

BASE = 1400 + HEADER_SIZE
PLAN = ProbePlan(base=BASE, ceiling=9000 - 28, overhead=28)


def _lose(prober: PathProber, now: float, times: int) -> float:
    """Let ``times`` probes go unanswered; returns the time after the last one was sent."""
    for _ in range(times):
        assert prober.due is not None
        now = prober.due
        assert prober.probe(now, None) is not None
    return now


def test_the_candidates_are_the_ceiling_then_common_mtus_between_it_and_the_base() -> None:
    assert PLAN.candidates() == (8972, 1500 - 28, 1492 - 28)
    assert ProbePlan(BASE, 65535 - 48, 48).candidates()[:3] == (65487, 16384 - 48, 9216 - 48)


def test_the_first_probe_tests_the_ceiling_and_its_ack_completes_the_search() -> None:
    prober = PathProber(PLAN, 0.0)
    assert prober.state is ProbeState.BASE and prober.plpmtu == BASE
    number, size = prober.probe(0.0, 0.001) or (0, 0)
    assert size == 8972 and prober.state is ProbeState.SEARCHING
    assert prober.due == pytest.approx(MIN_PROBE_TIMER)
    assert prober.on_ack(number, size, 0.01)
    assert prober.state is ProbeState.SEARCH_COMPLETE and prober.plpmtu == 8972
    assert prober.due == pytest.approx(0.01 + CONFIRM_INTERVAL)


def test_the_probe_timer_is_three_round_trips_when_that_is_longer() -> None:
    prober = PathProber(PLAN, 0.0)
    prober.probe(0.0, 0.1)
    assert prober.due == pytest.approx(0.3)


def test_a_size_is_given_up_after_max_probes_and_the_next_candidate_is_tried() -> None:
    prober = PathProber(PLAN, 0.0)
    now = _lose(prober, 0.0, MAX_PROBES)
    assert prober.plpmtu == BASE
    assert prober.due is not None
    number, size = prober.probe(prober.due, None) or (0, 0)
    assert size == 1500 - 28
    assert prober.probes_sent == MAX_PROBES + 1
    assert not prober.on_ack(number, size - 1, now)  # the wrong size confirms nothing
    assert prober.on_ack(number, size, now)
    assert prober.plpmtu == 1500 - 28


def test_an_ack_that_matches_no_outstanding_probe_is_ignored() -> None:
    prober = PathProber(PLAN, 0.0)
    number, size = prober.probe(0.0, None) or (0, 0)
    for forged in ((number + 1, size), (number - 1, size), (number, BASE), (number, 65000)):
        assert not prober.on_ack(*forged, 0.01)
        assert prober.state is ProbeState.SEARCHING and prober.plpmtu == BASE
    assert prober.on_ack(number, size, 0.01)
    assert not prober.on_ack(number, size, 0.02)  # a duplicate changes nothing
    assert prober.plpmtu == size


def test_when_no_candidate_passes_the_base_stays_and_probing_stops() -> None:
    prober = PathProber(PLAN, 0.0)
    _lose(prober, 0.0, MAX_PROBES * len(PLAN.candidates()))
    assert prober.due is not None
    assert prober.probe(prober.due, None) is None
    assert prober.state is ProbeState.SEARCH_COMPLETE and prober.plpmtu == BASE and prober.due is None


def test_no_probing_when_the_ceiling_is_not_above_the_base() -> None:
    prober = PathProber(ProbePlan(BASE, BASE, 28), 0.0)
    assert prober.due is None and prober.probe(0.0, None) is None and prober.probes_sent == 0


def test_a_black_hole_falls_back_to_the_base_and_searches_again_later() -> None:
    prober = PathProber(PLAN, 0.0)
    number, size = prober.probe(0.0, None) or (0, 0)
    prober.on_ack(number, size, 0.0)
    confirm = prober.probe(CONFIRM_INTERVAL, None)
    assert confirm is not None and confirm[1] == 8972  # a confirmation probe at plpmtu
    assert not prober.on_ack(*confirm, CONFIRM_INTERVAL)  # confirmed: nothing grew
    now = _lose(prober, CONFIRM_INTERVAL, MAX_PROBES)  # then the path stops taking it
    assert prober.due is not None
    assert prober.probe(prober.due, None) is None
    assert prober.state is ProbeState.ERROR and prober.plpmtu == BASE
    assert prober.due == pytest.approx(now + MIN_PROBE_TIMER + RAISE_INTERVAL)
    again = prober.probe(prober.due, None)
    assert again is not None and again[1] == 8972 and prober.state is ProbeState.SEARCHING


def test_probe_and_probe_ack_round_trip_at_their_exact_size() -> None:
    data, packet = packets.probe(channel=3, connection=77, number=5, size=8972)
    assert len(data) == 8972 and decode(data) == packet
    ack, _ = packets.probe_ack(channel=3, connection=77, number=5, size=8972)
    assert len(ack) == HEADER_SIZE and decode(ack).window == 8972 and decode(ack).seq == 5


def test_a_malformed_probe_is_refused_by_the_decoder() -> None:
    data, _ = packets.probe(channel=3, connection=77, number=5, size=2000)
    not_zeros = bytearray(data)
    not_zeros[-1] = 1
    wrong_size = bytearray(data)
    wrong_size[32:36] = (1999).to_bytes(4, "big")
    flagged = bytearray(data)
    flagged[2] = 0x02
    ack, _ = packets.probe_ack(channel=3, connection=77, number=5, size=2000)
    ack_with_payload = bytearray(ack[:44] + (4).to_bytes(2, "big") + ack[46:] + b"\0\0\0\0")
    for bad in (not_zeros, wrong_size, flagged, ack_with_payload):
        with pytest.raises(DecodeError):
            decode(bytes(bad))


def test_encode_refuses_an_invalid_probe() -> None:
    with pytest.raises(LocalProtocolError):
        encode(Packet(PacketType.PROBE, 1, 2, 3, window=HEADER_SIZE + 4, payload=b"data"))
    with pytest.raises(LocalProtocolError):
        encode(Packet(PacketType.PROBE_ACK, 1, 2, 3, window=9000, payload=b"\0"))
    with pytest.raises(LocalProtocolError):
        packets.probe(channel=1, connection=2, number=3, size=HEADER_SIZE - 1)
