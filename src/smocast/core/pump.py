"""The one pump: what every runtime does after it fed an endpoint any input.

Both runtimes, the asyncio one on real sockets and the simulator, call :meth:`Pump.run`
after each input (a batch of datagrams, or the timer): send what the endpoint wants sent,
hand each of its events to the application, and learn when to wake it next. The order is
fixed here, once: datagrams first, then events, so an event that the sending produced (a
channel that finished once its last FIN went out) reaches the application in the same turn.
An application that reacts to an event by giving the same endpoint more to send has it sent
at the next turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from smocast.core.datagram import Datagram, Endpoint

P = TypeVar("P")
E = TypeVar("E")


class Pump(Generic[P, E]):
    """Drives one endpoint: ``transmit`` sends a list of datagrams, ``deliver(event, now)`` takes one event.

    The endpoint's methods are bound once: a large simulation runs the pump millions of times.
    """

    __slots__ = ("_datagrams", "_deadline", "_deliver", "_events", "_transmit")

    def __init__(
        self,
        endpoint: Endpoint[P, E],
        transmit: Callable[[list[Datagram[P]]], None],
        deliver: Callable[[E, float], None],
    ) -> None:
        self._datagrams = endpoint.datagrams_to_send
        self._events = endpoint.next_event
        self._deadline = endpoint.next_deadline
        self._transmit = transmit
        self._deliver = deliver

    def run(self, now: float, *, can_send: bool = True) -> float | None:
        """One turn after any input; returns the absolute time of the endpoint's next deadline.

        ``can_send`` False (the runtime's socket is full) leaves the endpoint's datagrams with
        it until a later turn; events still flow. The caller must re-arm its one timer at the
        returned deadline (None: no timer).
        """
        if can_send:
            datagrams = self._datagrams(now)
            if datagrams:
                self._transmit(datagrams)
        next_event = self._events
        event = next_event()
        deliver = self._deliver
        while event is not None:
            deliver(event, now)
            event = next_event()
        return self._deadline()
