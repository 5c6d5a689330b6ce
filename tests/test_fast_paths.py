"""Every hand-written fast path equals its general twin, so the two cannot drift apart.

* the wire: ``plain_ack_fields`` against ``decode``; ``encode_data``/``encode_ack`` against ``encode``;
* the RTT estimator's one update path against RFC 6298 written out plainly;
* the receiver's in-order shortcut against its general data path;
* the source's plain-ACK shortcut against its general ACK path, over whole transfers;
* the child timer's early firing against its general firing, state by state and over lossy transfers.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.core.rtt import RTO_ALPHA, RTO_BETA, RTO_K, RtoSettings, RttEstimator
from smocast.core.timers import TimerQueue
from smocast.core.timestamps import elapsed_since
from smocast.smo import events as ev
from smocast.smo.child import Child
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.outcome import ChildRules, ChildState, Outcome
from smocast.smo.receiver import Receiver
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.timing import ChildTimer
from smocast.wire import (
    FLAG_MSG_START,
    HEADER_SIZE,
    MAX_STREAM_OFFSET,
    Packet,
    PacketType,
    decode,
    delay_sample,
    encode,
    encode_ack,
    encode_data,
    plain_ack_fields,
)
from tests.fakenet import FakeNet, Terrible

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
blocks = st.lists(st.tuples(st.integers(0, 2**40), st.integers(1, 2**20)), max_size=4).map(
    lambda bs: tuple((start, start + length) for start, length in bs)
)

# --- the wire ----------------------------------------------------------------------------------


@given(channel=u32, connection=u32, ack=u64, window=u32, tsval=u32, tsecr=u32, sack=blocks)
def test_encode_ack_is_encode(
    channel: int, connection: int, ack: int, window: int, tsval: int, tsecr: int, sack: tuple[tuple[int, int], ...]
) -> None:
    data, packet = encode_ack(
        channel=channel, connection=connection, ack=ack, window=window, tsval=tsval, tsecr=tsecr, sack=sack
    )
    assert data == encode(packet)
    assert decode(data) == packet


@given(
    kind=st.sampled_from([PacketType.DATA, PacketType.REPAIR]),
    channel=u32,
    seq=st.integers(0, MAX_STREAM_OFFSET),
    tsval=u32,
    flags=st.sampled_from([0, FLAG_MSG_START]),
    ack_every=st.integers(0, 255),
    payload=st.binary(max_size=1500),
)
def test_encode_data_is_encode(
    kind: PacketType,
    channel: int,
    seq: int,
    tsval: int,
    flags: int,
    ack_every: int,
    payload: bytes,
) -> None:
    data, packet = encode_data(
        kind,
        channel=channel,
        seq=seq,
        tsval=tsval,
        flags=flags,
        ack_every=ack_every,
        payload=payload,
    )
    assert data == encode(packet)
    assert decode(data) == packet


@given(
    channel=u32, connection=u32, ack=u64, window=u32, tsval=u32, tsecr=u32, delay=st.none() | st.integers(0, 2**32 - 1)
)
def test_plain_ack_fields_agree_with_decode_on_every_plain_ack(
    channel: int, connection: int, ack: int, window: int, tsval: int, tsecr: int, delay: int | None
) -> None:
    data, built = encode_ack(
        channel=channel, connection=connection, ack=ack, window=window, tsval=tsval, tsecr=tsecr, delay=delay
    )
    packet = decode(data)
    assert packet == built
    fields = plain_ack_fields(data)
    assert fields == (packet.channel, packet.connection, packet.ack, packet.window, packet.tsecr, packet.seq)
    assert delay_sample(packet.seq) == delay  # the one-way delay sample rides in seq, or nothing does


@settings(max_examples=400)
@given(data=st.binary(min_size=HEADER_SIZE, max_size=HEADER_SIZE + 40))
def test_plain_ack_fields_accept_nothing_decode_would_not_call_a_plain_ack(data: bytes) -> None:
    fields = plain_ack_fields(data)
    if fields is None:
        return
    packet = decode(data)  # a plain ACK always decodes
    assert packet.type is PacketType.ACK and not packet.sack and not packet.payload and not packet.flags
    assert fields == (packet.channel, packet.connection, packet.ack, packet.window, packet.tsecr, packet.seq)


# --- RTT -----------------------------------------------------------------------------------


def rfc6298(samples: list[float], settings: RtoSettings) -> tuple[float, float, float]:
    """SRTT, RTTVAR and RTO after ``samples``, as RFC 6298 (2.2)-(2.5) says, with no shortcut."""
    srtt, rttvar = samples[0], samples[0] / 2
    for r in samples[1:]:
        rttvar = (1 - RTO_BETA) * rttvar + RTO_BETA * abs(srtt - r)
        srtt = (1 - RTO_ALPHA) * srtt + RTO_ALPHA * r
    rto = srtt + max(settings.granularity, RTO_K * rttvar)
    return srtt, rttvar, min(settings.maximum, max(settings.minimum, rto))


@given(samples=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=40), backoffs=st.integers(0, 4))
def test_the_estimator_is_rfc6298(samples: list[float], backoffs: int) -> None:
    settings = RtoSettings()
    estimator = RttEstimator(settings)
    for _ in range(backoffs):
        estimator.back_off()  # a valid sample must end any back-off (RFC 6298 (5.7))
    for sample in samples:
        assert estimator.on_sample(sample)
    assert not estimator.on_sample(1.0, covers_retransmission=True)  # Karn's rule
    srtt, rttvar, rto = rfc6298(samples, settings)
    assert estimator.srtt == pytest.approx(srtt, rel=1e-12, abs=1e-15)
    assert estimator.rttvar == pytest.approx(rttvar, rel=1e-12, abs=1e-15)
    assert estimator.rto == pytest.approx(rto, rel=1e-12, abs=1e-15)
    assert estimator.min_rtt == min(samples) and estimator.backoff == 1


@given(tsecr=u32, now=st.floats(0, 1e7))
def test_elapsed_since_is_the_wrapped_difference(tsecr: int, now: float) -> None:
    expected = ((int(now * 1_000_000) - tsecr) % 2**32) / 1_000_000
    assert elapsed_since(tsecr, now) == expected


# --- the receiver's in-order shortcut ----------------------------------------------------------

SERVER = ("192.0.2.1", 5000)


def _connected(config: ReceiverConfig) -> Receiver:
    rx = Receiver(SERVER, config, random.Random(3))
    rx.connect(0.0)
    rx.datagrams_to_send(0.0)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0, tsval=7), SERVER, 0.01)
    rx.datagrams_to_send(0.01)
    rx.next_event()
    return rx


@settings(max_examples=150, deadline=None)
@given(
    order=st.permutations(list(range(12))),
    cut=st.integers(0, 12),
    framing=st.booleans(),
    every=st.integers(1, 4),
)
def test_the_in_order_shortcut_equals_the_general_path(order: list[int], cut: int, framing: bool, every: int) -> None:
    """A REPAIR takes the general path even when in order; as DATA the same bytes may take the
    shortcut. Delivered events and ACKs must be the same (only the repair counter differs, and
    the one-way delay sample an ACK after DATA carries in ``seq``: a repair is not one)."""
    config = ReceiverConfig(framing=framing)
    fast, general = _connected(config), _connected(config)
    segments = [(i * 100, bytes([i]) * 100) for i in range(12)]
    sequence = [segments[i] for i in sorted(order[:cut])] + [segments[i] for i in order[cut:]]
    for step, (seq, payload) in enumerate(sequence):
        now = 0.02 + step * 0.001
        flags = 2 if framing else 0
        for rx, kind in ((fast, PacketType.DATA), (general, PacketType.REPAIR)):
            packet = Packet(kind, 1, 0, seq, tsval=seq, flags=flags, ack_every=every, payload=payload)
            rx.receive_packet(packet, SERVER, now)
        fast_acks, general_acks = _acks(fast, now), _acks(general, now)
        assert [a._replace(seq=0) for a in fast_acks] == general_acks
        assert all(delay_sample(a.seq) == (int(now * 1e6) - seq) % 2**32 for a in fast_acks)
        assert _drain(fast) == _drain(general)
        assert fast.window == general.window


def _acks(rx: Receiver, now: float) -> list[Packet]:
    return [d.packet for d in rx.datagrams_to_send(now)]


def _drain(rx: Receiver) -> list[object]:
    out: list[object] = []
    while (event := rx.next_event()) is not None:
        if isinstance(event, ev.DataReceived | ev.MessageReceived):
            rx.consumed(len(event.data))
        out.append(event)
    return out


# --- the source's plain-ACK shortcut -------------------------------------------------------------


def _transfer(seed: int, receivers: int, size: int, net: Terrible) -> FakeNet:
    """``size`` random bytes to ``receivers`` over ``net``, run to the end (any shortcut disabled first)."""
    fake = FakeNet(ChannelConfig(min_receivers=receivers, mss=500, pacing=False), receivers, seed=seed, net=net)
    fake.channel.write(bytes(random.Random(seed).randbytes(size)))
    fake.channel.close()
    fake.run(until=60.0)
    return fake


def _run(seed: int, shortcut: bool, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    if not shortcut:
        monkeypatch.setattr(Child, "plain_ack", lambda *args: False)
    net = _transfer(seed, 3, 60_000, Terrible(delay=0.002, jitter=0.0005))
    monkeypatch.undo()
    return [(p.data, p.ended) for p in net.peers] + [
        (r.acked, r.srtt, r.cwnd) for r in (e.info for e in net.source_events if isinstance(e, ev.ReceiverCompleted))
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_plain_ack_shortcut_equals_the_general_ack_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without loss every ACK is plain: the same transfer through the general path must give the
    same bytes, the same RTT estimate and the same windows, event for event."""
    with_shortcut = _run(seed, True, monkeypatch)
    without = _run(seed, False, monkeypatch)
    assert with_shortcut == without
    assert all(ended for _, ended in with_shortcut[:3])


# --- the child timer's early firing ------------------------------------------------------------


class _Sender:
    """A child as its timer sees it (``TimedSender``): it records the steps it is asked for."""

    def __init__(self, una: int, last_progress: float, state: ChildState, rtt: RttEstimator) -> None:
        self.rtt, self.una, self.rwnd, self.last_progress, self.state = rtt, una, 1 << 20, last_progress, state
        self.asked: list[str] = []

    @property
    def closed(self) -> bool:
        return self.state is ChildState.CLOSED

    def repairs_due(self, now: float) -> Outcome:
        self.asked.append("rack")
        return Outcome()

    def retransmission_timeout(self, now: float) -> Outcome:
        self.asked.append("rto")
        return Outcome()

    def fin_timeout(self) -> Outcome:
        self.asked.append("fin")
        return Outcome()

    def tail_loss_probe(self) -> Outcome:
        self.asked.append("probe")
        return Outcome()


def _timer(state: dict[str, Any], segments: int, hint: int) -> tuple[ChildTimer, _Sender, TimerQueue]:
    rtt = RttEstimator()
    for sample in state["samples"]:
        rtt.update(sample)
    if state["backed_off"]:
        rtt.back_off()
    buf = SendBuffer(100)
    buf.write(bytes(100 * segments))
    for _ in range(segments):
        buf.take(state["sent_at"], 1, 1, ack_hint=hint)
    rules = ChildRules(mss=100, progress_timeout=state["progress_timeout"], handshake_timeout=5.0, history=None)
    child = _Sender(state["una"], state["last_progress"], state["child_state"], rtt)
    queue = TimerQueue()
    timer = ChildTimer(queue, buf, rules, child, lambda now: None, 0.0)
    timer.base, timer.probe_sent, timer.rack_due = state["base"], state["probe_sent"], state["rack_due"]
    queue.disarm(timer.entry)  # as the queue leaves it when it fires
    return timer, child, queue


NOW = 20.0
before = st.floats(0.0, 1.5).map(lambda ago: NOW - ago)  # near now, where the due times fall
timer_states = st.fixed_dictionaries(
    {
        "samples": st.lists(st.floats(0.0005, 0.5), max_size=3),
        "backed_off": st.booleans(),
        "sent_at": before,
        "progress_timeout": st.none() | st.floats(0.5, 2.0),
        "una": st.sampled_from([0, 100, 300, 500]),
        "last_progress": before,
        "child_state": st.sampled_from(list(ChildState)),
        "base": before,
        "probe_sent": st.booleans(),
        "rack_due": st.none() | st.floats(-0.2, 0.2).map(lambda delta: NOW + delta),
    }
)


@settings(max_examples=600)
@given(state=timer_states, segments=st.integers(1, 5), hint=st.integers(0, 4))
def test_the_early_firing_rearms_as_the_general_path_does(state: dict[str, Any], segments: int, hint: int) -> None:
    """Where :meth:`ChildTimer.rearm_if_early` takes a firing, :meth:`ChildTimer.fire` asks for
    no step and arms the timer at the same time, leaving the same state; where it declines, it
    changed nothing."""
    fast, fast_child, _ = _timer(state, segments, hint)
    general, general_child, _ = _timer(state, segments, hint)
    now = NOW
    taken = fast.rearm_if_early(fast_child, now)
    if not taken:
        assert (fast.entry.due, fast.base, fast.probe_sent, fast.rack_due) == (None, *_timer_fields(state))
        return
    assert list(general.fire(general_child, now)) == []
    assert general_child.asked == fast_child.asked == []
    assert fast.entry.due == general.entry.due is not None
    assert (fast.base, fast.probe_sent, fast.rack_due) == (general.base, general.probe_sent, general.rack_due)


def _timer_fields(state: dict[str, Any]) -> tuple[object, ...]:
    return state["base"], state["probe_sent"], state["rack_due"]


def test_the_early_firing_is_taken_when_nothing_is_due() -> None:
    """The common case, written out: an ACK moved ``base`` after the timer was armed at its probe time."""
    state = {
        "samples": [0.01],
        "backed_off": False,
        "sent_at": 0.0,
        "progress_timeout": 10.0,
        "una": 0,
        "last_progress": 1.0,
        "child_state": ChildState.ESTABLISHED,
        "base": 1.0,
        "probe_sent": False,
        "rack_due": None,
    }
    timer, child, queue = _timer(state, 5, 2)
    queue.arm(timer.entry, 0.02)  # armed at the probe time of an earlier ACK
    assert queue.run_due(1.005) == 1  # fired early: the probe is now due at base + 2 * srtt
    assert child.asked == [] and timer.entry.due == timer.next_due(child) == pytest.approx(1.02)


def _lossy_run(seed: int, early: bool, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    if not early:
        monkeypatch.setattr(ChildTimer, "rearm_if_early", lambda *args: False)
    net = _transfer(seed, 4, 80_000, Terrible(drop=0.03, delay=0.002, jitter=0.001, ack_drop=0.03))
    monkeypatch.undo()
    stats = net.channel.stats
    return [(p.data, p.ended) for p in net.peers] + [
        (stats.repair_unicast, stats.repair_multicast, stats.bytes_repair),
        [(type(e).__name__, getattr(e, "info", None)) for e in net.source_events],
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_early_firing_shortcut_equals_the_general_timer_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under loss, probes, RACK and timeouts fire among the early firings: the same transfer with
    every firing through :meth:`ChildTimer.fire` must send the same repairs and give the same events."""
    assert _lossy_run(seed, True, monkeypatch) == _lossy_run(seed, False, monkeypatch)
