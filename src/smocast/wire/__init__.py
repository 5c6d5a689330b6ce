"""The TCP-SMO wire format: one fixed header, SACK blocks, payload, optional trailer.

``decode`` accepts any bytes and either returns a :class:`Packet` or raises the one typed
:class:`DecodeError`; ``encode`` is its exact inverse.
"""

from smocast.wire.build import heartbeat_of, reset_reason
from smocast.wire.codec import (
    DELAY_SAMPLE,
    HEADER_SIZE,
    MAX_SACK_BLOCKS,
    SACK_BLOCK_SIZE,
    decode,
    delay_sample,
    encode,
    encode_ack,
    encode_data,
    plain_ack_fields,
    plain_data_fields,
)
from smocast.wire.packet import (
    COOKIE_SIZE,
    FLAG_AUTH,
    FLAG_MSG_START,
    FLAG_RESUME,
    KNOWN_FLAGS,
    NO_COOKIE,
    VERSION,
    DecodeError,
    Packet,
    PacketType,
    ResetCode,
)

__all__ = [
    "COOKIE_SIZE",
    "DELAY_SAMPLE",
    "FLAG_AUTH",
    "FLAG_MSG_START",
    "FLAG_RESUME",
    "HEADER_SIZE",
    "KNOWN_FLAGS",
    "MAX_SACK_BLOCKS",
    "NO_COOKIE",
    "SACK_BLOCK_SIZE",
    "VERSION",
    "DecodeError",
    "Packet",
    "PacketType",
    "ResetCode",
    "decode",
    "delay_sample",
    "encode",
    "encode_ack",
    "encode_data",
    "heartbeat_of",
    "plain_ack_fields",
    "plain_data_fields",
    "reset_reason",
]
