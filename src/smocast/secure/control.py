"""The layer's own messages, carried in CONTROL datagrams under a session's keys.

Each is one type byte, then its fields (big-endian)::

    KEY_UPDATE          u8 1, group keys (count, then u64 epoch + 32-byte secret each)
    KEY_REQUEST         u8 2, u64 epoch          a receiver lacks this epoch's key
    SIGNATURE_REQUEST   u8 3, u64 epoch, u64 n   a receiver lacks the signed block covering packet n
    SIGNATURE           u8 4, a signed block     the answer (the same bytes the group got)

Source to receiver: KEY_UPDATE, SIGNATURE. Receiver to source: KEY_REQUEST, SIGNATURE_REQUEST.
"""

from __future__ import annotations

import struct
from enum import IntEnum

from smocast.secure.group import GroupGrant, decode_grants, encode_grants

_EPOCH = struct.Struct("!Q")
_EPOCH_NUMBER = struct.Struct("!QQ")


class ControlType(IntEnum):
    KEY_UPDATE = 1
    KEY_REQUEST = 2
    SIGNATURE_REQUEST = 3
    SIGNATURE = 4


_TYPES = {int(t): t for t in ControlType}


def key_update(grants: tuple[GroupGrant, ...]) -> bytes:
    return bytes([ControlType.KEY_UPDATE]) + encode_grants(grants)


def key_request(epoch: int) -> bytes:
    return bytes([ControlType.KEY_REQUEST]) + _EPOCH.pack(epoch)


def signature_request(epoch: int, number: int) -> bytes:
    return bytes([ControlType.SIGNATURE_REQUEST]) + _EPOCH_NUMBER.pack(epoch, number)


def signature(block: bytes) -> bytes:
    return bytes([ControlType.SIGNATURE]) + block


def parse(message: bytes) -> tuple[ControlType, bytes]:
    """``(type, body)`` of a control message; raise ValueError when it is none."""
    kind = _TYPES.get(message[0]) if message else None
    if kind is None:
        raise ValueError("not a control message")
    return kind, message[1:]


def parse_grants(body: bytes) -> tuple[GroupGrant, ...]:
    return decode_grants(body)


def parse_epoch(body: bytes) -> int:
    if len(body) != _EPOCH.size:
        raise ValueError("a key request is one u64 epoch")
    epoch: int = _EPOCH.unpack(body)[0]
    return epoch


def parse_epoch_number(body: bytes) -> tuple[int, int]:
    if len(body) != _EPOCH_NUMBER.size:
        raise ValueError("a signature request is a u64 epoch and a u64 packet number")
    epoch, number = _EPOCH_NUMBER.unpack(body)
    return epoch, number
