"""One key exchange with throwaway keys, run before the first receiver comes.

A process's first key exchange pays the libraries' first use of each primitive: 5 to 10 ms,
against 0.2 to 0.5 ms after (``smocast bench crypto`` measures the warm figures). Both sides
run their part inside a round trip the source measures: the source answers the SYN (between
reading it and timestamping its SYN-ACK) and the receiver finishes the exchange before it
acknowledges the SYN-ACK. The first receiver's round trip is also the channel's until its
first sweep, and the channel paces new data at its initial window over that round trip: a
sample inflated from 0.3 to 10 ms paced a 100 Mbit/s path at about 20 Mbit/s for 0.2 s
(``docs/benchmarks.md``, "Secure against ``--insecure``"). The runtime therefore calls
:func:`warm_up` when it builds the protection layer, before any receiver can arrive.

The throwaway keys come from a fixed seed and nothing of them is kept: the caller's injected
randomness is not touched, so a seeded run stays what it was.
"""

from __future__ import annotations

import random

from smocast.secure.blocks import BlockVerifier
from smocast.secure.envelope import Kind, header
from smocast.secure.exchange_source import Accepted, respond
from smocast.secure.group import GroupGrant
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import ReceiverHandshake, Trust
from smocast.secure.signing import FILE_BLOCKS, BlockSigner

_CONTEXT = b"smocast warm-up"


def warm_up() -> None:
    """Run both sides of one key exchange, one group packet and one signed block with throwaway keys."""
    rng = random.Random(0)
    identity = Identity.generate(rng.randbytes)
    handshake = ReceiverHandshake(rng.randbytes, Trust(frozenset({identity.public.digest})))
    grant = GroupGrant(0, rng.randbytes(32))
    accepted = respond(handshake.hello(_CONTEXT), _CONTEXT, identity=identity, randbytes=rng.randbytes, grants=(grant,))
    if not isinstance(accepted, Accepted):  # pragma: no cover - the throwaway key trusts itself
        raise AssertionError("the warm-up exchange was refused")
    handshake.finish(accepted.reply)
    key = grant.packet_key()
    head = header(Kind.GROUP, 0, 0)
    sealed = key.seal(0, head, b"warm-up")
    signer = BlockSigner(identity, rng.randbytes, FILE_BLOCKS)
    signer.add(0, 0, head, b"warm-up", 0.0)
    verifier = BlockVerifier(identity.public)
    verifier.accept(signer.sign())
    verifier.check(0, 0, head, key.open(0, head, sealed) or b"")
