"""The errors of the secure mode, named after whose fault they are."""

from __future__ import annotations

from smocast.core.errors import ConfigError, RemoteProtocolError, SmocastError


class SecurityError(SmocastError):
    """Base class of the secure mode's errors."""


class KeyFileError(SecurityError):
    """A key file is missing, unsafe (readable by others) or not a smocast key; the message says how to fix it."""


class TrustFileError(SecurityError):
    """A known-sources or allow-list file does not parse; the message names the file and the line."""


class FingerprintError(ConfigError):
    """A fingerprint as typed by a user is not one (wrong length, wrong characters)."""


class HandshakeError(RemoteProtocolError):
    """The peer's key-exchange message is malformed or its signature does not verify."""


class UntrustedSourceError(SecurityError):
    """The source proved a key, but not one this receiver trusts: the connection must be refused."""
