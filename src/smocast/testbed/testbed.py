"""The public face of the testbed: one object per prefix, driving real namespaces.

::

    with Testbed("smc").running(hosts=5, rate="100mbit", loss=0.02) as tb:
        receiver = tb.popen(1, [sys.executable, "recv.py", "239.1.2.3"], stdout=subprocess.PIPE)
        tb.exec(0, [sys.executable, "send.py", "239.1.2.3"], check=True)

The object keeps no state that matters: ``Testbed("smc").down()`` in a fresh process cleans
up a testbed that a crashed process built.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from smocast.testbed import build, shaping
from smocast.testbed.layout import DEFAULT_PREFIX, HOST_INTERFACE, Layout, check_host_count, owned_namespaces
from smocast.testbed.reorder import reorder_steps, set_reorder
from smocast.testbed.runner import TestbedError, check_prerequisites, in_namespace
from smocast.testbed.status import TestbedStatus, gather, memberships, ping


class Testbed:
    """Hosts in network namespaces on one Linux bridge with IGMP snooping; host 0 is the sender.

    Create it with a prefix (1-8 of ``[a-z0-9]``, starting with a letter), then call :meth:`up`
    and, whatever happens, :meth:`down`; or use :meth:`running`, which does both.
    """

    __test__ = False  # not a pytest test class, despite the name

    #: The name of every host's one network interface, inside its namespace.
    interface = HOST_INTERFACE

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.layout = Layout(prefix)
        self._hosts: int | None = None

    @property
    def prefix(self) -> str:
        return self.layout.prefix

    # -- life cycle ---------------------------------------------------------------------------

    def up(
        self, hosts: int, rate: str | float | None = None, loss: float = 0.0, ipv6: bool = False, reorder: float = 0.0
    ) -> Testbed:
        """Build ``hosts`` hosts, each egress shaped to ``rate`` and receivers (1..) losing ``loss`` of UDP.

        With ``reorder`` that share of the UDP towards each receiver takes a slower lane, so later
        datagrams overtake it (:mod:`smocast.testbed.reorder`; needs ``rate``).

        With ``ipv6`` the hosts also have IPv6 addresses (:meth:`address6`) and MLDv2.

        Returns once multicast snooping is in force. On failure everything built so far is removed
        and the error raised; if the prefix is already in use nothing is touched. Call :meth:`down`
        when done.
        """
        check_prerequisites()
        check_host_count(hosts)
        shaping.loss_steps(loss)
        if reorder_steps(reorder) and rate is None:
            raise TestbedError("reordering needs a rate (--rate): the slow lane runs at a share of it")
        if rate is not None:
            shaping.rate_bits(rate)
        existing = owned_namespaces(self.layout)
        if existing:
            raise TestbedError(
                f"testbed {self.prefix!r} is already up ({len(existing)} namespaces); "
                f"run `smocast testbed down --prefix {self.prefix}` first"
            )
        try:
            self._build(hosts, rate, loss, ipv6, reorder)
        except BaseException:
            with contextlib.suppress(TestbedError):  # the first error is the one to report
                build.teardown(self.layout)
            raise
        self._hosts = hosts
        return self

    def _build(self, hosts: int, rate: str | float | None, loss: float, ipv6: bool, reorder: float) -> None:
        build.create_namespaces(self.layout, hosts, ipv6)
        querier_on = build.build_switch(self.layout, hosts, ipv6)
        for i in range(hosts):
            build.configure_host(self.layout, i, ipv6)
            if rate is not None:
                shaping.set_rate(self.layout, i, rate)
            if loss and i > 0:
                shaping.set_loss(self.layout, i, loss)
            if reorder and i > 0:
                set_reorder(self.layout, i, reorder, rate)
        build.wait_for_querier(querier_on)

    def down(self) -> list[str]:
        """Remove every namespace of this prefix (and so all links, qdiscs and rules), killing what runs there.

        Works after a crash and when nothing is up. Returns the namespaces removed.
        """
        check_prerequisites()
        self._hosts = None
        return build.teardown(self.layout)

    @contextmanager
    def running(
        self,
        hosts: int,
        rate: str | float | None = None,
        loss: float = 0.0,
        ipv6: bool = False,
        reorder: float = 0.0,
    ) -> Iterator[Testbed]:
        """``up`` on entry, ``down`` on exit, even when the body raises."""
        self.up(hosts, rate=rate, loss=loss, ipv6=ipv6, reorder=reorder)
        try:
            yield self
        finally:
            self.down()

    def status(self) -> TestbedStatus:
        """What exists now for this prefix: namespaces, addresses, shapers, loss, cuts, groups."""
        check_prerequisites()
        return gather(self.layout)

    # -- hosts --------------------------------------------------------------------------------

    @property
    def hosts(self) -> int:
        """How many hosts the testbed has (0 when it is down); looked up once if not built here."""
        if self._hosts is None:
            self._hosts = sum(1 for name in owned_namespaces(self.layout) if self.layout.host_index(name) is not None)
        return self._hosts

    def namespace(self, host: int | str) -> str:
        """The network namespace of ``host`` (an index, ``"h2"`` or the namespace name)."""
        return self.layout.host(self.layout.resolve(host))

    def address(self, host: int | str) -> str:
        """The IPv4 address of ``host`` on the testbed's subnet (10.77.0.0/16)."""
        return self.layout.address(self.layout.resolve(host))

    def address6(self, host: int | str) -> str:
        """The IPv6 address of ``host`` (fd77::/64; the testbed must be built with ``ipv6``)."""
        return self.layout.address6(self.layout.resolve(host))

    def exec(self, host: int | str, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` in ``host``'s namespace and wait; ``kwargs`` go to :func:`subprocess.run`.

        The exit code is the command's own: check ``returncode`` or pass ``check=True``.
        """
        argv = in_namespace(self._existing(host), argv)
        return subprocess.run(argv, **kwargs)  # noqa: PLW1510  (``check`` is the caller's, in kwargs)

    def popen(self, host: int | str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` in ``host``'s namespace without waiting; ``kwargs`` go to :class:`subprocess.Popen`.

        Wait for or kill it yourself; :meth:`down` kills whatever is still running in the testbed.
        """
        return subprocess.Popen(in_namespace(self._existing(host), argv), **kwargs)

    def _existing(self, host: int | str) -> str:
        check_prerequisites()
        index = self.layout.resolve(host)
        if index >= self.hosts:
            if not self.hosts:
                raise TestbedError(
                    f"testbed {self.prefix!r} is not up; start it with "
                    f"`smocast testbed up --hosts N --prefix {self.prefix}`"
                )
            raise TestbedError(f"no host {index} in testbed {self.prefix!r}: it has hosts 0-{self.hosts - 1}")
        return self.layout.host(index)

    # -- impairments --------------------------------------------------------------------------

    def set_loss(self, host: int | str, probability: float) -> float:
        """Drop incoming UDP at ``host`` with ``probability``, rounded to 1/1000; returns the applied value."""
        self._existing(host)
        return shaping.set_loss(self.layout, self.layout.resolve(host), probability) / shaping.LOSS_STEPS

    def set_reorder(self, host: int | str, share: float, rate: str | float) -> float:
        """Send ``share`` (rounded to 1/1000) of the UDP towards ``host`` by a slow lane sized for a link
        of ``rate``, so later datagrams overtake it (0 removes the lane); returns the applied share."""
        self._existing(host)
        return set_reorder(self.layout, self.layout.resolve(host), share, rate) / shaping.LOSS_STEPS

    def set_rate(self, host: int | str, rate: str | float | None, *, inbound: bool = False) -> None:
        """Shape ``host``'s egress to ``rate`` (None: unshaped); ``inbound`` shapes traffic towards it instead."""
        self._existing(host)
        shaping.set_rate(self.layout, self.layout.resolve(host), rate, inbound=inbound)

    def set_mtu(self, mtu: int) -> None:
        """Set the MTU of every link (each host's interface and each bridge port), e.g. 9000 for jumbo frames."""
        check_prerequisites()
        build.set_mtu(self.layout, self.hosts, mtu)

    def cut(self, host: int | str) -> None:
        """Cut ``host`` off entirely: the bridge drops all its frames, both ways, until :meth:`reconnect`."""
        self._existing(host)
        shaping.set_cut(self.layout, shaping.read_cut(self.layout) | {self.layout.resolve(host)})

    def reconnect(self, host: int | str) -> None:
        """Undo :meth:`cut` for ``host``; its group memberships on the bridge are still in place."""
        self._existing(host)
        shaping.set_cut(self.layout, shaping.read_cut(self.layout) - {self.layout.resolve(host)})

    # -- probes -------------------------------------------------------------------------------

    def ping(self, source: int | str, target: int | str, timeout: float = 1.0) -> bool:
        """Whether ``target`` answers an ICMP echo from ``source`` within ``timeout`` seconds."""
        self._existing(source)
        return ping(self.layout, self.layout.resolve(source), self.layout.resolve(target), timeout)

    def members(self, group: str) -> set[int]:
        """The hosts whose bridge port has joined ``group`` according to IGMP snooping."""
        check_prerequisites()
        return memberships(self.layout).get(group, set())

    def wait_for_members(self, group: str, hosts: set[int], timeout: float = 5.0) -> None:
        """Return once the bridge has learned that exactly ``hosts`` joined ``group``; TestbedError after ``timeout``.

        Start sending to a group only after this, or the first datagrams may be flooded or lost.
        """
        deadline = time.monotonic() + timeout
        while (seen := self.members(group)) != hosts:
            if time.monotonic() > deadline:
                raise TestbedError(
                    f"group {group}: the bridge saw joins from hosts {sorted(seen)}, "
                    f"expected {sorted(hosts)} within {timeout} s"
                )
            time.sleep(0.02)
