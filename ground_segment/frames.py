"""The frame layer on the ground: construct declarations of TC and TM transfer frames and the CLCW.

Declarations (construct 2.10), one per unit of the standards:

- ``TcFramePrimaryHeader``: CCSDS 232.0-B-4 §4.1.2, 5 octets.
- ``TcSegmentHeader``: 232.0-B-4 §4.1.3.2, 1 octet, on Type-D frames.
- ``TcFrame``: a whole TC frame (segment header on Type-D frames only, FECF
  checked by construct's ``Checksum`` with crcmod's C CRC-16/CCITT-FALSE).
- ``TmFramePrimaryHeader``: CCSDS 132.0-B-3 §4.1.2, 6 octets.
- ``Clcw``: the 32-bit CLCW, 232.0-B-4 §4.2.1 (the TM frame's OCF).
- ``tm_frame(frame_len)``: a whole fixed-length TM frame with OCF and FECF.

They are the ground's description of the formats the flight codecs in
``bus.tc_frame``, ``bus.tm_frame`` and ``bus.clcw`` implement;
tests/test_frames_construct.py proves on generated values that both agree octet
for octet in both directions and that the FECFs agree with crcmod.  Field names
follow the standards' wording.
"""

from __future__ import annotations

from functools import lru_cache

import crcmod.predefined
from construct import (
    BitsInteger, BitStruct, Bytes, Checksum, Flag, If, Int16ub, RawCopy, Struct, Terminated, this,
)

__all__ = [
    "Clcw", "TcFrame", "TcFramePrimaryHeader", "TcSegmentHeader", "TmFramePrimaryHeader", "crc16", "fecf_ok",
    "tm_frame",
]

crc16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
"""CRC-16/CCITT-FALSE in C (crcmod's extension): poly 0x1021, init 0xFFFF."""


def fecf_ok(frame: bytes) -> bool:
    """True when the last two octets of ``frame`` are the CRC of the rest."""
    return len(frame) >= 2 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "big")


TcFramePrimaryHeader = BitStruct(
    "version" / BitsInteger(2),  # transfer frame version number, 00
    "bypass_flag" / Flag,  # 0: Type-A (sequence controlled), 1: Type-B (expedited)
    "control_command_flag" / Flag,  # 0: Type-D (data), 1: Type-C (control command)
    "spare" / BitsInteger(2),  # 00
    "spacecraft_id" / BitsInteger(10),
    "virtual_channel_id" / BitsInteger(6),
    "frame_length" / BitsInteger(10),  # total octets - 1
    "frame_sequence_number" / BitsInteger(8),  # N(S)
)

TcSegmentHeader = BitStruct(
    "sequence_flags" / BitsInteger(2),  # 11: unsegmented
    "map_id" / BitsInteger(6),
)


def _tc_data_len(ctx) -> int:
    h = ctx.header
    return h.frame_length + 1 - 5 - 2 - (0 if h.control_command_flag else 1)


TcFrame = Struct(
    "frame" / RawCopy(Struct(
        "header" / TcFramePrimaryHeader,
        "segment_header" / If(this.header.control_command_flag == False, TcSegmentHeader),  # noqa: E712
        "data" / Bytes(_tc_data_len),  # packet (Type-D) or control command (Type-C)
    )),
    "fecf" / Checksum(Int16ub, crc16, this.frame.data),
    Terminated,
)

TmFramePrimaryHeader = BitStruct(
    "version" / BitsInteger(2),  # transfer frame version number, 00
    "spacecraft_id" / BitsInteger(10),
    "virtual_channel_id" / BitsInteger(3),
    "ocf_flag" / Flag,
    "master_channel_frame_count" / BitsInteger(8),
    "virtual_channel_frame_count" / BitsInteger(8),
    # frame data field status
    "secondary_header_flag" / Flag,
    "synchronisation_flag" / Flag,
    "packet_order_flag" / Flag,
    "segment_length_id" / BitsInteger(2),  # 11 when the synchronisation flag is 0
    "first_header_pointer" / BitsInteger(11),  # 0x7FF: no packet starts; 0x7FE: idle data only
)

Clcw = BitStruct(
    "control_word_type" / BitsInteger(1),  # 0
    "clcw_version_number" / BitsInteger(2),  # 00
    "status_field" / BitsInteger(3),
    "cop_in_effect" / BitsInteger(2),  # 01: COP-1
    "virtual_channel_id" / BitsInteger(6),
    "spare_0" / BitsInteger(2),
    "no_rf_available" / Flag,
    "no_bit_lock" / Flag,
    "lockout" / Flag,
    "wait" / Flag,
    "retransmit" / Flag,
    "farm_b_counter" / BitsInteger(2),
    "spare_1" / BitsInteger(1),
    "report_value" / BitsInteger(8),  # V(R)
)


@lru_cache(maxsize=8)
def tm_frame(frame_len: int) -> Struct:
    """A whole TM frame of ``frame_len`` octets: header, data field, OCF (CLCW) and FECF."""
    if not 19 <= frame_len <= 2048:
        raise ValueError(f"TM frame length {frame_len} outside 19..2048")
    return Struct(
        "frame" / RawCopy(Struct(
            "header" / TmFramePrimaryHeader,
            "data_field" / Bytes(frame_len - 12),
            "ocf" / Clcw,
        )),
        "fecf" / Checksum(Int16ub, crc16, this.frame.data),
        Terminated,
    )
