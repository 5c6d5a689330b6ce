"""The TCP-SMO wire format: DATA and REPAIR under a 16-byte short header (:mod:`smocast.wire.dataform`);
every other packet under one fixed 48-byte header, SACK blocks, payload, optional trailer.

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
    plain_ack_fields,
)
from smocast.wire.dataform import (
    DATA_HEADER_SIZE,
    MAX_STREAM_OFFSET,
    data_fields,
    encode_data,
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
    "DATA_HEADER_SIZE",
    "DELAY_SAMPLE",
    "FLAG_AUTH",
    "FLAG_MSG_START",
    "FLAG_RESUME",
    "HEADER_SIZE",
    "KNOWN_FLAGS",
    "MAX_SACK_BLOCKS",
    "MAX_STREAM_OFFSET",
    "NO_COOKIE",
    "SACK_BLOCK_SIZE",
    "VERSION",
    "DecodeError",
    "Packet",
    "PacketType",
    "ResetCode",
    "data_fields",
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
