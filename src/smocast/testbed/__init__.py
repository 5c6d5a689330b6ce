"""Real hosts on one machine: network namespaces joined by a Linux bridge with real IGMP.

Use :class:`Testbed`; see docs/testbed.md. Everything needs root and the ``ip``, ``tc`` and
``nft`` commands; without them every call raises :class:`TestbedUnavailable`.
"""

from smocast.testbed.layout import DEFAULT_PREFIX, HOST_INTERFACE, MAX_HOSTS, SUBNET, validate_prefix
from smocast.testbed.runner import CommandFailed, TestbedError, TestbedUnavailable, check_prerequisites
from smocast.testbed.shaping import LOSS_STEPS, RateLimit
from smocast.testbed.status import HostStatus, TestbedStatus
from smocast.testbed.testbed import Testbed

__all__ = [
    "DEFAULT_PREFIX",
    "HOST_INTERFACE",
    "LOSS_STEPS",
    "MAX_HOSTS",
    "SUBNET",
    "CommandFailed",
    "HostStatus",
    "RateLimit",
    "Testbed",
    "TestbedError",
    "TestbedStatus",
    "TestbedUnavailable",
    "check_prerequisites",
    "validate_prefix",
]
