"""The error types of smocast, named after whose fault the error is (as h11 does)."""


class SmocastError(Exception):
    """Base class of every error smocast raises on purpose."""


class LocalProtocolError(SmocastError):
    """The caller used an endpoint wrongly (wrong state, bad argument); fix the calling code."""


class RemoteProtocolError(SmocastError):
    """A peer sent something this endpoint cannot accept; the datagram is dropped."""


class ConfigError(SmocastError, ValueError):
    """A configuration value or policy string is invalid; the message says which and why."""
