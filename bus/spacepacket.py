"""CCSDS Space Packet primary header (CCSDS 133.0-B-2 §4.1.3), flight subset.

Layout of the six octets, most significant bit first::

    octet 0       octet 1    octet 2          octet 3    octets 4-5
    VVV T S AAA   AAAAAAAA   FF CCCCCC        CCCCCCCC   LLLLLLLL LLLLLLLL
    |   | | '---- APID (11 bits) ---'  |     '-- sequence count (14) --'
    |   | '- secondary header flag    '- sequence flags (2)
    |   '- packet type (0 TM, 1 TC)                       packet data length
    '- packet version number (000)                        (octets in the data field - 1)

``data_len`` everywhere in this module is the *field value* (the number of
octets in the packet data field minus one, §4.1.3.5), as in spacepackets; the
total packet length is ``data_len + 7``.

Packing validates every field and raises ``ValueError`` naming the limit.
Parsing goes through small accessors that read straight from the caller's
buffer and allocate nothing, so the TC path can inspect a packet before
deciding what to do with it.
"""

import struct

from bus.compat import const

PRIMARY_HEADER_LEN = const(6)
PACKET_VERSION = const(0)  # "000": version 1 CCSDS packet (§4.1.3.2)
APID_MASK = const(0x7FF)
SEQ_COUNT_MASK = const(0x3FFF)
DATA_LEN_MASK = const(0xFFFF)
PACKET_TYPE_TM = const(0)
PACKET_TYPE_TC = const(1)
SEQ_FLAGS_CONTINUATION = const(0)
SEQ_FLAGS_FIRST = const(1)
SEQ_FLAGS_LAST = const(2)
SEQ_FLAGS_UNSEGMENTED = const(3)
IDLE_APID = const(0x7FF)  # all ones: the APID reserved for idle packets
MAX_DATA_LEN = const(65536)  # octets in the packet data field at most (field value 0xFFFF)
MAX_PACKET_LEN = const(65542)  # PRIMARY_HEADER_LEN + MAX_DATA_LEN
MIN_PACKET_LEN = const(7)  # a data field holds at least one octet
IDLE_FILL = const(0x55)  # idle data pattern (mission choice; 133.0-B-2 leaves it open)

_HEADER_FMT = ">HHH"


def _check_range(name, value, hi):
    if not 0 <= value <= hi:
        raise ValueError("%s %d outside 0..%d" % (name, value, hi))


def pack_primary_into(buf, offset, packet_type, sec_hdr_flag, apid, seq_flags, seq_count, data_len):
    """Write the primary header at ``buf[offset:offset+6]``; return ``offset + 6``.

    ``data_len`` is the packet data length field (data field octets - 1).
    Raises ``ValueError`` for any field outside its range or a buffer too short.
    """
    _check_range("packet type", packet_type, 1)
    _check_range("secondary header flag", sec_hdr_flag, 1)
    _check_range("APID", apid, APID_MASK)
    _check_range("sequence flags", seq_flags, 3)
    _check_range("sequence count", seq_count, SEQ_COUNT_MASK)
    _check_range("packet data length", data_len, DATA_LEN_MASK)
    if offset < 0 or offset + PRIMARY_HEADER_LEN > len(buf):
        raise ValueError("buffer of %d octets has no room for a primary header at %d" % (len(buf), offset))
    struct.pack_into(_HEADER_FMT, buf, offset,
                     (packet_type << 12) | (sec_hdr_flag << 11) | apid,
                     (seq_flags << 14) | seq_count,
                     data_len)
    return offset + PRIMARY_HEADER_LEN


# Accessors: read one field of the header at buf[off:off+6] (allocation-free).

def version_of(buf, off=0):
    """Packet version number (0 for CCSDS version-1 packets)."""
    return buf[off] >> 5


def packet_type_of(buf, off=0):
    """PACKET_TYPE_TM (0) or PACKET_TYPE_TC (1)."""
    return (buf[off] >> 4) & 1


def sec_hdr_flag_of(buf, off=0):
    """1 when a secondary header is present."""
    return (buf[off] >> 3) & 1


def apid_of(buf, off=0):
    """Application process identifier (11 bits)."""
    return ((buf[off] & 0x07) << 8) | buf[off + 1]


def packet_id_of(buf, off=0):
    """The 16-bit packet identification (version, type, flag, APID) as one int."""
    return (buf[off] << 8) | buf[off + 1]


def seq_flags_of(buf, off=0):
    """Sequence flags (SEQ_FLAGS_UNSEGMENTED = 3 for a stand-alone packet)."""
    return buf[off + 2] >> 6


def seq_count_of(buf, off=0):
    """Packet sequence count (14 bits)."""
    return ((buf[off + 2] & 0x3F) << 8) | buf[off + 3]


def seq_ctrl_of(buf, off=0):
    """The 16-bit packet sequence control (flags and count) as one int."""
    return (buf[off + 2] << 8) | buf[off + 3]


def data_len_of(buf, off=0):
    """Packet data length field: octets in the packet data field minus one."""
    return (buf[off + 4] << 8) | buf[off + 5]


def packet_len_of(buf, off=0):
    """Total packet length in octets: ``data_len + 7``."""
    return ((buf[off + 4] << 8) | buf[off + 5]) + 7


def is_idle(buf, off=0):
    """True for an idle packet (APID 0x7FF)."""
    return (((buf[off] & 0x07) << 8) | buf[off + 1]) == IDLE_APID


def pack_idle_into(buf, offset, packet_len, seq_count=0, fill=IDLE_FILL):
    """Write an idle packet of ``packet_len`` octets in total; return the offset after it.

    Idle packets carry APID 0x7FF (all ones) and no secondary header; the
    packet type is TM and the data field is ``fill`` octets.  Used to fill the
    rest of a fixed-length transfer frame.  Allocation-free.
    """
    if not MIN_PACKET_LEN <= packet_len <= MAX_PACKET_LEN:
        raise ValueError("idle packet length %d outside %d..%d" % (packet_len, MIN_PACKET_LEN, MAX_PACKET_LEN))
    _check_range("idle fill octet", fill, 0xFF)
    if offset < 0 or offset + packet_len > len(buf):
        raise ValueError("buffer of %d octets has no room for %d octets at %d" % (len(buf), packet_len, offset))
    pack_primary_into(buf, offset, PACKET_TYPE_TM, 0, IDLE_APID, SEQ_FLAGS_UNSEGMENTED,
                      seq_count & SEQ_COUNT_MASK, packet_len - MIN_PACKET_LEN)
    i = offset + PRIMARY_HEADER_LEN
    end = offset + packet_len
    while i < end:
        buf[i] = fill
        i += 1
    return end
