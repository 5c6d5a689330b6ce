"""What host 0 put on the wire, as its shaper counts it.

The interface's ``tx_bytes`` counts a UDP GSO batch (one ``sendmsg`` of many datagrams, as
``smocast send`` sends) once, with one set of Ethernet, IP and UDP headers, so it under-counts
a GSO sender's egress by about 42 bytes a datagram against a tool that sends each datagram on
its own. The root qdisc (``tc tbf`` when the link is shaped) counts each segment of a batch
with its own headers, as the wire carries them: :func:`wire_egress` reads that counter.
"""

from __future__ import annotations

import json
from typing import Any

from smocast.testbed import Testbed
from smocast.testbed.runner import run


def wire_egress(tb: Testbed) -> int | None:
    """Bytes host 0's root qdisc has sent so far; None when it has none that counts (no shaper)."""
    result = run(["tc", "-n", tb.namespace(0), "-s", "-j", "qdisc", "show", "dev", tb.interface], check=False)
    if result.returncode != 0:
        return None
    return root_qdisc_bytes(json.loads(result.stdout or "[]"))


def root_qdisc_bytes(qdiscs: list[dict[str, Any]]) -> int | None:
    """The ``bytes`` of the root qdisc in ``tc -s -j qdisc show``'s output, unless it is ``noqueue``."""
    for qdisc in qdiscs:
        if qdisc.get("root") and qdisc.get("kind") != "noqueue" and "bytes" in qdisc:
            return int(qdisc["bytes"])
    return None
