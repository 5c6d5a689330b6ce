"""A receiver's secure mode on a real network: :class:`ReceiverProtection`.

It puts the protection layer in front of the receiver's endpoint, accepting only the source
keys the user trusts (:func:`smocast.aio.security.receiver_layer`), tells what the source
proved, and remembers a source's key after a first use. In the insecure mode it holds
nothing, and nothing of it loads :mod:`cryptography` (it imports :mod:`smocast.aio.security`
only when there is a layer to build).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from smocast.core.datagram import Address, Endpoint
from smocast.smo.events import ReceiverEvent
from smocast.smo.receiver import Receiver

if TYPE_CHECKING:
    from smocast.aio.security import ReceiverSecurity
    from smocast.secure.receiver import ProtectedReceiver
    from smocast.secure.stats import ProtectionStats


class ReceiverProtection:
    """The layer of one receiver (None in the insecure mode, ``security`` None) and what it proved."""

    def __init__(self, security: ReceiverSecurity | None) -> None:
        self.security = security
        self.layer: ProtectedReceiver[ReceiverEvent] | None = None
        self.remembered: Path | None = None  # the known-sources file a first use appended the source to

    def wrap(self, receiver: Receiver, server: Address, name: str) -> Endpoint[Any, ReceiverEvent]:
        """The endpoint the driver runs: ``receiver``, behind the layer in the secure mode.
        ``name`` is the source as the user typed it (for messages). Call it before opening any socket.

        Raises ConfigError when no key is pinned for the source (and first use is not allowed).
        """
        if self.security is None:
            return receiver
        from smocast.aio.security import receiver_layer  # noqa: PLC0415  (no cryptography unless secure)

        self.layer = receiver_layer(receiver, server, self.security, name)
        return self.layer

    @property
    def source_fingerprint(self) -> str | None:
        """The key the source proved in the handshake (None in the insecure mode, or before it)."""
        source = self.layer.source_identity if self.layer is not None else None
        return source.fingerprint if source is not None else None

    @property
    def stats(self) -> ProtectionStats | None:
        """What the layer opened and dropped (None in the insecure mode)."""
        return self.layer.stats if self.layer is not None else None

    @property
    def unanswered(self) -> bool:
        """The secure mode, and the source never answered the key exchange."""
        return self.layer is not None and self.layer.session is None

    def remember_source(self, server: Address) -> None:
        """Trust on first use: the source's key goes into the known-sources file once it is proved
        (call it when the receiver is connected); :attr:`remembered` says where, if it went."""
        layer, security = self.layer, self.security
        if layer is None or security is None or layer.source_identity is None:
            return
        from smocast.aio.security import remember_source  # noqa: PLC0415

        self.remembered = remember_source(security, server, layer.source_identity)
