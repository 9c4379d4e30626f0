"""The packet layer on the ground: construct declarations (the truth) and a fast TM decoder.

Declarations (construct 2.10), one per unit of the standards:

- ``SpacePacketPrimaryHeader``: CCSDS 133.0-B-2 §4.1.3, any packet.
- ``CdsShortTime``: CCSDS 301.0-B-4 §3.3, P-field 0x40, 16-bit days, 32-bit ms of day.
- ``PusTcSecondaryHeader`` / ``PusTmSecondaryHeader``: ECSS-E-ST-70-41C (PUS-C) TC and TM secondary headers.
- ``PusTcPacket`` / ``PusTmPacket``: whole PUS-C packets with the packet error
  control checked by construct's ``Checksum`` over the raw octets, using crcmod's
  C implementation of CRC-16/CCITT-FALSE.  They build as well as parse (the
  data length is rebuilt from the application data), and their ``.compile()``d
  forms parse the same way (little faster: construct 2.10 cannot compile
  RawCopy and Checksum, so those stay interpreted inside the compiled packet).

Construct is the single truth, but not the hot path: a PUS TM with 64 octets of
data parses at about 10k/s with these declarations (the bit-level headers cost
most), whereas the archive replays millions of packets.  ``decode_tm`` does the same job with
one ``struct`` call and one crcmod call (well over 1M packets/s, see
``python -m bench``); tests/test_pus_interop.py proves on many generated packets
that it returns exactly what the construct declaration parses, and rejects
exactly what it rejects.  A rejected packet raises ``bus.pus.PusError`` whose
``code`` is the flight decoder's failure code for it, so the ground counts bad
packets by the same reasons the spacecraft reports.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import NamedTuple

import crcmod.predefined
from construct import (
    BitsInteger, BitStruct, Bytes, Checksum, Const, Default, Int8ub, Int16ub, Int32ub, RawCopy, Rebuild, Struct,
    Terminated, this,
)

from bus import pus
from bus.cds_time import P_FIELD
from bus.pus import PusError

__all__ = [
    "CdsShortTime", "PusTcPacket", "PusTcSecondaryHeader", "PusTmPacket", "PusTmSecondaryHeader", "PusError",
    "SpacePacketPrimaryHeader", "TcPacket", "TmPacket", "build_tc", "build_tm", "compiled_tc_packet",
    "compiled_tm_packet", "crc16", "decode_tc_construct", "decode_tm", "decode_tm_construct", "encode_tm",
    "tm_from_container", "tc_from_container",
]

crc16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
"""CRC-16/CCITT-FALSE in C (crcmod's extension): poly 0x1021, init 0xFFFF."""


def _primary_header(packet_type, sec_hdr_flag, seq_flags, data_len):
    """The primary header's layout, with the subcons of the fields a use may pin."""
    return BitStruct(
        "version" / Const(0, BitsInteger(3)),
        "packet_type" / packet_type,  # 0 TM, 1 TC
        "sec_hdr_flag" / sec_hdr_flag,
        "apid" / BitsInteger(11),
        "seq_flags" / seq_flags,  # 3: stand-alone packet
        "seq_count" / BitsInteger(14),
        "data_len" / data_len,  # octets in the packet data field - 1
    )


SpacePacketPrimaryHeader = _primary_header(BitsInteger(1), BitsInteger(1), BitsInteger(2), BitsInteger(16))

CdsShortTime = Struct(
    "p_field" / Const(P_FIELD, Int8ub),  # CDS, 1958 epoch, 16-bit days, no sub-ms
    "days" / Int16ub,  # days since 1958-01-01
    "ms_of_day" / Int32ub,
)

PusTcSecondaryHeader = BitStruct(
    "pus_version" / Const(pus.PUS_VERSION, BitsInteger(4)),
    "ack_flags" / Default(BitsInteger(4), pus.ACK_ALL),  # completion, progress, start, acceptance
    "service" / BitsInteger(8),
    "subtype" / BitsInteger(8),
    "source_id" / Default(BitsInteger(16), 0),
)

PusTmSecondaryHeader = Struct(
    "version" / BitStruct(
        "pus_version" / Const(pus.PUS_VERSION, BitsInteger(4)),
        "time_ref_status" / Default(BitsInteger(4), 0),
    ),
    "service" / Int8ub,
    "subtype" / Int8ub,
    "msg_count" / Default(Int16ub, 0),  # message type counter
    "dest_id" / Default(Int16ub, 0),
    "time" / CdsShortTime,
)

_TC_OVERHEAD = pus.TC_MIN_LEN - 7  # data_len = len(app_data) + this
_TM_OVERHEAD = pus.TM_MIN_LEN - 7

PusTcPacket = Struct(
    "body" / RawCopy(Struct(
        "primary" / _primary_header(Const(1, BitsInteger(1)), Const(1, BitsInteger(1)), Const(3, BitsInteger(2)),
                                    Rebuild(BitsInteger(16), lambda ctx: len(ctx._.app_data) + _TC_OVERHEAD)),
        "secondary" / PusTcSecondaryHeader,
        "app_data" / Bytes(this.primary.data_len - _TC_OVERHEAD),
    )),
    "crc" / Checksum(Int16ub, crc16, this.body.data),  # packet error control
    Terminated,
)

PusTmPacket = Struct(
    "body" / RawCopy(Struct(
        "primary" / _primary_header(Const(0, BitsInteger(1)), Const(1, BitsInteger(1)), Default(BitsInteger(2), 3),
                                    Rebuild(BitsInteger(16), lambda ctx: len(ctx._.app_data) + _TM_OVERHEAD)),
        "secondary" / PusTmSecondaryHeader,
        "app_data" / Bytes(this.primary.data_len - _TM_OVERHEAD),  # source data
    )),
    "crc" / Checksum(Int16ub, crc16, this.body.data),
    Terminated,
)


@lru_cache(maxsize=None)
def compiled_tm_packet():
    """``PusTmPacket.compile()``, made once."""
    return PusTmPacket.compile()


@lru_cache(maxsize=None)
def compiled_tc_packet():
    """``PusTcPacket.compile()``, made once."""
    return PusTcPacket.compile()


class TmPacket(NamedTuple):
    """A decoded PUS TM packet; same fields, same order as ``bus.pus.TmPacket.fields()``."""

    apid: int
    seq_flags: int
    seq_count: int
    time_ref_status: int
    service: int
    subtype: int
    msg_count: int  # message type counter
    dest_id: int
    days: int  # CDS days since 1958-01-01
    ms_of_day: int
    app_data: bytes  # source data


class TcPacket(NamedTuple):
    """A decoded PUS TC packet."""

    apid: int
    seq_count: int
    ack_flags: int
    service: int
    subtype: int
    source_id: int
    app_data: bytes


def tm_from_container(c) -> TmPacket:
    """The ``TmPacket`` of a ``PusTmPacket`` (or its compiled form) parse result."""
    v = c.body.value
    p, s = v.primary, v.secondary
    return TmPacket(p.apid, p.seq_flags, p.seq_count, s.version.time_ref_status, s.service, s.subtype,
                    s.msg_count, s.dest_id, s.time.days, s.time.ms_of_day, bytes(v.app_data))


def tc_from_container(c) -> TcPacket:
    """The ``TcPacket`` of a ``PusTcPacket`` parse result."""
    v = c.body.value
    p, s = v.primary, v.secondary
    return TcPacket(p.apid, p.seq_count, s.ack_flags, s.service, s.subtype, s.source_id, bytes(v.app_data))


def decode_tm_construct(data: bytes, compiled: bool = False) -> TmPacket:
    """Decode with the construct declaration (raises construct's errors)."""
    return tm_from_container((compiled_tm_packet() if compiled else PusTmPacket).parse(data))


def decode_tc_construct(data: bytes) -> TcPacket:
    """Decode a PUS TC with the construct declaration (raises construct's errors)."""
    return tc_from_container(PusTcPacket.parse(data))


def build_tm(apid, seq_count, service, subtype, days, ms_of_day, app_data=b"", msg_count=0, dest_id=0,
             time_ref_status=0, seq_flags=3) -> bytes:
    """A PUS TM built by the construct declaration (ground tests, simulators)."""
    return PusTmPacket.build(dict(body=dict(value=dict(
        primary=dict(apid=apid, seq_flags=seq_flags, seq_count=seq_count),
        secondary=dict(version=dict(time_ref_status=time_ref_status), service=service, subtype=subtype,
                       msg_count=msg_count, dest_id=dest_id, time=dict(days=days, ms_of_day=ms_of_day)),
        app_data=bytes(app_data)))))


def build_tc(apid, seq_count, service, subtype, app_data=b"", ack_flags=pus.ACK_ALL, source_id=0) -> bytes:
    """A PUS TC built by the construct declaration."""
    return PusTcPacket.build(dict(body=dict(value=dict(
        primary=dict(apid=apid, seq_count=seq_count),
        secondary=dict(ack_flags=ack_flags, service=service, subtype=subtype, source_id=source_id),
        app_data=bytes(app_data)))))


# --- fast path ---------------------------------------------------------------------

_TM_HEAD = struct.Struct(">HHHBBBHHBHI")  # primary header, TM secondary header, CDS time: 20 octets
_TM_HEAD_LEN = _TM_HEAD.size
_TM_MIN_LEN = pus.TM_MIN_LEN
_TM_DATA_LEN_OVERHEAD = _TM_HEAD_LEN + 2 - 7  # packet data length field = source data octets + 15
_CRC = struct.Struct(">H")


def encode_tm(apid, seq_count, service, subtype, days, ms_of_day, app_data=b"", msg_count=0, dest_id=0,
              time_ref_status=0) -> bytes:
    """A PUS TM, octet for octet what ``build_tm`` (the construct declaration) builds.

    The fast path for ground-side TM generation (simulators, replay, test streams):
    one struct call and the C CRC.  Fields are checked as the flight writer checks them.
    """
    if apid & ~0x7FF or seq_count & ~0x3FFF or (service | subtype) & ~0xFF or (msg_count | dest_id) & ~0xFFFF \
            or days & ~0xFFFF or not 0 <= ms_of_day <= 86400999 or time_ref_status & ~0x0F:
        raise ValueError("TM field out of range: apid %r seq %r service %r subtype %r msg %r dest %r days %r ms %r"
                         % (apid, seq_count, service, subtype, msg_count, dest_id, days, ms_of_day))
    n = len(app_data)
    head = _TM_HEAD.pack(0x0800 | apid, 0xC000 | seq_count, n + _TM_DATA_LEN_OVERHEAD, 0x20 | time_ref_status,
                         service, subtype, msg_count, dest_id, P_FIELD, days, ms_of_day) + app_data
    return head + _CRC.pack(crc16(head))


def decode_tm(data: bytes) -> TmPacket:
    """Decode one whole PUS TM packet (``len(data)`` is its length); raise ``PusError`` if bad.

    Equivalent to ``decode_tm_construct`` on every packet, valid or not (tests
    prove it); the error code is the one ``bus.pus.check_tm`` gives.
    """
    n = len(data)
    if n >= _TM_MIN_LEN and crc16(data) == 0:
        pid, psc, dlen, vs, service, subtype, count, dest, pf, days, ms = _TM_HEAD.unpack_from(data)
        if dlen + 7 == n and pid & 0xF800 == 0x0800 and vs & 0xF0 == 0x20 and pf == P_FIELD:
            return TmPacket(pid & 0x7FF, psc >> 14, psc & 0x3FFF, vs & 0x0F, service, subtype, count, dest,
                            days, ms, data[_TM_HEAD_LEN:n - 2])
    code = pus.check_tm(data, 0, n)
    if code == pus.OK:  # the fast checks and the flight's must reject the same packets
        raise AssertionError("decode_tm and bus.pus.check_tm disagree on %s" % bytes(data).hex())
    raise PusError(code)
