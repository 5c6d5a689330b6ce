"""The six generic classes of reliable multicast protocol (Levine and Garcia-Luna-Aceves, after
Pingali, Towsley and Kurose) as sans-IO endpoints on the same contract as TCP-SMO.

====  ==========================================================  =========================
A     sender-initiated: every receiver ACKs every copy             :mod:`smocast.classes.a`
N1    receiver-initiated: unicast NAKs                             :mod:`smocast.classes.n1`
N2    NAK avoidance with session messages, in the spirit of SRM   :mod:`smocast.classes.n2`
H1    tree of local groups with local and aggregate ACKs          :mod:`smocast.classes.h1`
H2    tree-NAPP: local NAK avoidance and periodic polling         :mod:`smocast.classes.h2`
R     ring: a rotating token site ACKs and repairs                 :mod:`smocast.classes.ring`
====  ==========================================================  =========================

Every endpoint counts the operations of the analytic model (:mod:`smocast.classes.ledger`);
:func:`smocast.classes.build.build` wires one class for a given :class:`AddressPlan`.
"""

from smocast.classes.build import ACK_BASED, CLASS_NAMES, AddressPlan, Endpoints, build, check_class
from smocast.classes.config import ClassConfig
from smocast.classes.events import Delivered, RepairUnavailable, SenderFinished, StreamComplete
from smocast.classes.packet import Kind, Packet, PacketError, decode, encode

__all__ = [
    "ACK_BASED",
    "CLASS_NAMES",
    "AddressPlan",
    "ClassConfig",
    "Delivered",
    "Endpoints",
    "Kind",
    "Packet",
    "PacketError",
    "RepairUnavailable",
    "SenderFinished",
    "StreamComplete",
    "build",
    "check_class",
    "decode",
    "encode",
]
