"""smocast: reliable one-to-many delivery over IP multicast.

The flagship protocol is TCP-SMO run in user space over UDP: one source keeps a TCP-like
control block per receiver, sends each segment once to a multicast group, and uses the
per-receiver ACKs for reliability, RTT, congestion and flow control.

The protocol cores (:mod:`smocast.smo`, :mod:`smocast.classes`) are sans-IO objects; the
deterministic simulator (:mod:`smocast.sim`) and the asyncio runtime drive the same objects.
"""

__version__ = "0.1.0"
