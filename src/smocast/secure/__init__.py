"""The authenticated mode: identities, the key exchange, and packet protection as a layer.

Everything here is sans-IO except :mod:`smocast.secure.keyfiles`, which reads and writes the
key and trust files in the user's configuration directory (and is the one module allowed to
ask the operating system for random bytes). The layer sits between the wire and a protocol
core: :class:`~smocast.secure.source.ProtectedSource` and
:class:`~smocast.secure.receiver.ProtectedReceiver` wrap an endpoint, seal what it sends and
open what it receives, so the core sees plaintext packets. ``docs/security.md`` describes the
threat model and the design.

Import the sub-modules directly: this package root loads nothing, so a command that never
uses the secure mode never loads ``cryptography``.
"""
