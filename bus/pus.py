"""PUS-C telecommand and telemetry packets (ECSS-E-ST-70-41C) over CCSDS space packets (133.0-B-2).

TC packet (13 octets + application data)::

    0-5    primary header: version 0, type 1 (TC), sec. header flag 1, APID,
           sequence flags 11 (stand-alone), sequence count, data length
    6      TC PUS version number (4 bits, = 2) | acknowledgement flags (4 bits)
    7      service type
    8      message subtype
    9-10   source ID
    11-    application data
    last 2 packet error control: CRC-16/CCITT-FALSE over everything before it

TM packet (22 octets + source data)::

    0-5    primary header: version 0, type 0 (TM), sec. header flag 1, ...
    6      TM PUS version number (4 bits, = 2) | spacecraft time reference status (4)
    7      service type
    8      message subtype
    9-10   message type counter
    11-12  destination ID
    13-19  time: CDS short code with its P-field 0x40 (bus.cds_time)
    20-    source data (``app_data`` in this API, as for a TC)
    last 2 packet error control

Acknowledgement flags (TC octet 6, low nibble): ACK_ACCEPTANCE 0b0001, ACK_START
0b0010, ACK_PROGRESS 0b0100, ACK_COMPLETION 0b1000.

Flight side: ``TmPacketWriter`` packs complete TM packets into a buffer and
keeps the counters; ``TcPacketReader`` validates a received TC and exposes its
fields as attributes.  Both allocate nothing per packet.  ``pack_tc_into``
(ground, tests) and ``unpack_tm`` (ground) complete the set; they run on
MicroPython too.

Message type counter (simplification).  ECSS-E-ST-70-41C counts messages per
destination and per message type.  The payload keeps one 16-bit counter per
APID, incremented by every TM packet that APID sends, whatever its type or
destination: the ground still detects a lost packet of an application (a gap
in the counter) without a counter table per (APID, service, subtype, dest).
The 14-bit packet sequence count is likewise per APID, as 133.0-B-2 requires.

Packet error control: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) from
``bus.crc16`` (the table on MicroPython, C code on CPython).
"""

import struct
from array import array

from bus.cds_time import P_FIELD
from bus.compat import const
from bus.crc16 import crc16
from bus.spacepacket import APID_MASK, PRIMARY_HEADER_LEN, SEQ_COUNT_MASK, SEQ_FLAGS_UNSEGMENTED

PUS_VERSION = const(2)  # PUS-C (ECSS-E-ST-70-41C)
TC_SEC_HDR_LEN = const(5)
TM_SEC_HDR_LEN = const(7)  # without the time stamp
TM_TIME_LEN = const(7)  # CDS short code with P-field
CRC_LEN = const(2)
TC_APP_DATA_OFFSET = const(11)  # from the start of the packet
TM_APP_DATA_OFFSET = const(20)
TC_MIN_LEN = const(13)  # packet with no application data
TM_MIN_LEN = const(22)
TC_MAX_APP_DATA_LEN = const(65529)  # MAX_DATA_LEN - 5 - 2
TM_MAX_APP_DATA_LEN = const(65520)  # MAX_DATA_LEN - 14 - 2

ACK_NONE = const(0)
ACK_ACCEPTANCE = const(0b0001)
ACK_START = const(0b0010)
ACK_PROGRESS = const(0b0100)
ACK_COMPLETION = const(0b1000)
ACK_ALL = const(0b1111)

# A verification failure report (TM[1,2], [1,4], [1,6], [1,8]) carries, after the
# request ID and the failure code (u16), one failure-parameter octet: the 0-based
# index of the command argument at fault, or NO_ARGUMENT.
NO_ARGUMENT = const(0xFF)

# Failure codes of the packet layer: the reason a TC acceptance failure report
# (service 1) gives when TcPacketReader rejects a packet, and the ``code`` of the
# ground decoders' PusError.  Codes past the packet layer (unknown APID,
# service, subtype, wrong application data, ...) are declared in the mission
# database, bus/mdb.py (FAIL_*, from 0x0101), so that each code has one home.
OK = const(0)
INCOMPLETE = const(1)  # fewer octets than the primary header declares (or than a header)
LENGTH_MISMATCH = const(2)  # more octets than the primary header declares
TOO_SHORT = const(3)  # declared length below the minimum PUS packet
INCORRECT_CRC = const(4)  # packet error control does not match
ILLEGAL_CCSDS_VERSION = const(5)  # packet version number is not 000
ILLEGAL_PACKET_TYPE = const(6)  # TM where a TC is expected, or the reverse
ILLEGAL_SEC_HDR = const(7)  # secondary header flag is 0
ILLEGAL_SEQ_FLAGS = const(8)  # TC not stand-alone (sequence flags not 11)
ILLEGAL_PUS_VERSION = const(9)  # PUS version number is not 2
ILLEGAL_TIME_CODE = const(10)  # TM time stamp is not CDS short (P-field 0x40)

FAILURES = {  # code: (name, text) -- for the ICD, the ground tools and the verification service
    INCOMPLETE: ("INCOMPLETE", "incomplete packet: fewer octets than the packet length field declares"),
    LENGTH_MISMATCH: ("LENGTH_MISMATCH", "more octets than the packet length field declares"),
    TOO_SHORT: ("TOO_SHORT", "packet too short for a PUS secondary header and packet error control"),
    INCORRECT_CRC: ("INCORRECT_CRC", "incorrect packet error control (CRC)"),
    ILLEGAL_CCSDS_VERSION: ("ILLEGAL_CCSDS_VERSION", "packet version number is not 000"),
    ILLEGAL_PACKET_TYPE: ("ILLEGAL_PACKET_TYPE", "wrong packet type (a TM where a TC belongs, or the reverse)"),
    ILLEGAL_SEC_HDR: ("ILLEGAL_SEC_HDR", "secondary header flag not set: not a PUS packet"),
    ILLEGAL_SEQ_FLAGS: ("ILLEGAL_SEQ_FLAGS", "sequence flags not 11: telecommands are stand-alone packets"),
    ILLEGAL_PUS_VERSION: ("ILLEGAL_PUS_VERSION", "PUS version number is not 2 (PUS-C)"),
    ILLEGAL_TIME_CODE: ("ILLEGAL_TIME_CODE", "time stamp is not a CDS short time code (P-field 0x40)"),
}
FAILURE_TEXT = {code: name_text[1] for code, name_text in FAILURES.items()}  # code: text


def failure_text(code):
    """Words for a failure code (OK and unknown codes included)."""
    if code == OK:
        return "accepted"
    text = FAILURE_TEXT.get(code)
    return text if text is not None else "unknown failure code %d" % code


class PusError(ValueError):
    """A packet the decoders reject; ``code`` is one of the failure codes above."""

    def __init__(self, code, detail=""):
        super().__init__(failure_text(code) + (": " + detail if detail else ""))
        self.code = code


# --- packet error control ------------------------------------------------------

packet_crc = crc16  # CRC-16/CCITT-FALSE over buf[start:end] (C code on CPython, see bus.crc16)


def _store_crc(buf, start, end):
    """Append the packet error control of ``buf[start:end]`` at ``buf[end:end+2]``."""
    crc = packet_crc(buf, start, end)
    buf[end] = crc >> 8
    buf[end + 1] = crc & 0xFF


def _check_field(name, value, hi):
    if not 0 <= value <= hi:
        raise ValueError("%s %d outside 0..%d" % (name, value, hi))


# --- common checks (allocation-free) -------------------------------------------

def check_packet(buf, offset, n, packet_type, min_len):
    """Failure code of the ``n`` octets at ``buf[offset]`` as one PUS packet, or OK.

    Checks in this order, so that a corrupted packet reports its CRC rather than
    whichever header field the corruption hit: length against the header's
    packet length, minimum length, CRC, packet version, packet type, secondary
    header flag, PUS version.  ``packet_type`` is the expected type (0 TM, 1 TC).
    The TC reader then checks the sequence flags, the TM decoder the time code.
    """
    if n < PRIMARY_HEADER_LEN or offset < 0 or offset + n > len(buf):
        return INCOMPLETE
    plen = ((buf[offset + 4] << 8) | buf[offset + 5]) + 7
    if n < plen:
        return INCOMPLETE
    if n > plen:
        return LENGTH_MISMATCH
    if plen < min_len:
        return TOO_SHORT
    if packet_crc(buf, offset, offset + plen) != 0:
        return INCORRECT_CRC
    b0 = buf[offset]
    if b0 >> 5:
        return ILLEGAL_CCSDS_VERSION
    if (b0 >> 4) & 1 != packet_type:
        return ILLEGAL_PACKET_TYPE
    if not b0 & 0x08:
        return ILLEGAL_SEC_HDR
    if buf[offset + PRIMARY_HEADER_LEN] >> 4 != PUS_VERSION:
        return ILLEGAL_PUS_VERSION
    return OK


# --- flight TM encoder ---------------------------------------------------------

_TM_HDR_FMT = ">HHHBBBHHBHI"  # primary header, TM secondary header and CDS time: 20 octets
_TM_APP_DATA_OFFSET = const(20)  # local copies: MicroPython folds only its own module's consts
_TM_MAX_APP_DATA_LEN = const(65520)
_TM_DATA_LEN_OVERHEAD = const(15)  # packet data length field = source data octets + 15
_SEQ_COUNT_MASK = const(0x3FFF)
_P_FIELD = const(0x40)  # bus.cds_time.P_FIELD; the TM bytes test spells it out
_pack_into = struct.pack_into


def _reject_tm(slot, apid, service, subtype, dest_id, app_data_len, buf_len, offset):
    """Raise the ValueError that says which argument of TmPacketWriter.seal is wrong."""
    if slot < 0:
        raise ValueError("APID %d is not one of this writer's" % apid)
    _check_field("service type", service, 0xFF)
    _check_field("message subtype", subtype, 0xFF)
    _check_field("destination ID", dest_id, 0xFFFF)
    raise ValueError("no room for %d octets of source data in a %d-octet buffer at %d"
                     % (app_data_len, buf_len, offset))


class TmPacketWriter:
    """Packs complete PUS TM packets and keeps each APID's counters.

    ``time_source`` is a bus.cds_time.FlightTime (or FixedTime): the writer
    calls its ``rebase()`` and reads ``days``, ``ms_of_day`` and
    ``time_ref_status``, so that one struct call writes all 20 header octets.
    ``apids`` lists the APIDs this writer sends for; each has a 14-bit packet
    sequence count and a 16-bit message type counter, both starting at 0 and
    wrapping.  ``buf`` is the writer's own packet buffer, big enough for
    ``max_app_data_len`` octets of source data.

    Allocation-free per packet: ``pack`` copies prepared source data into the
    buffer, ``seal`` finishes a packet whose source data the caller already
    wrote at ``TM_APP_DATA_OFFSET`` (no copy at all).
    """

    def __init__(self, time_source, apids, max_app_data_len=256, dest_id=0):
        _check_field("maximum source data length", max_app_data_len, TM_MAX_APP_DATA_LEN)
        _check_field("destination ID", dest_id, 0xFFFF)
        self._time = time_source  # rebase(); days, ms_of_day, time_ref_status
        self._slot = {}  # APID -> index into the counter arrays
        for apid in apids:
            _check_field("APID", apid, APID_MASK)
            if apid in self._slot:
                raise ValueError("APID 0x%03x listed twice" % apid)
            self._slot[apid] = len(self._slot)
        self._seq_count = array("H", [0] * len(self._slot))  # next packet sequence count per APID
        self._msg_count = array("H", [0] * len(self._slot))  # next message type counter per APID
        self.dest_id = dest_id  # destination ID used when pack()/seal() get none
        self.buf = bytearray(TM_MIN_LEN + max_app_data_len)  # the writer's packet buffer

    def _slot_of(self, apid):
        slot = self._slot.get(apid, -1)
        if slot < 0:
            raise ValueError("APID %d is not one of this writer's" % apid)
        return slot

    def seq_count(self, apid):
        """Sequence count the next packet of ``apid`` will carry."""
        return self._seq_count[self._slot_of(apid)]

    def msg_count(self, apid):
        """Message type counter the next packet of ``apid`` will carry."""
        return self._msg_count[self._slot_of(apid)]

    def set_counts(self, apid, seq_count, msg_count):
        """Set the counters of ``apid`` (after a reboot from saved values; tests)."""
        slot = self._slot_of(apid)
        _check_field("sequence count", seq_count, SEQ_COUNT_MASK)
        _check_field("message type counter", msg_count, 0xFFFF)
        self._seq_count[slot] = seq_count
        self._msg_count[slot] = msg_count

    def seal(self, buf, offset, apid, service, subtype, app_data_len, dest_id=-1):
        """Finish the packet at ``buf[offset]`` whose source data is already in place.

        Writes the headers and time, computes the CRC, advances the APID's
        counters and returns the packet length in octets.  ``dest_id`` -1:
        the writer's ``dest_id``.
        """
        slot = self._slot.get(apid, -1)
        if dest_id == -1:
            dest_id = self.dest_id
        end = offset + _TM_APP_DATA_OFFSET + app_data_len  # where the CRC goes
        if (slot < 0 or (service | subtype) & ~0xFF or dest_id & ~0xFFFF or app_data_len < 0
                or app_data_len > _TM_MAX_APP_DATA_LEN or offset < 0 or end + 2 > len(buf)):
            _reject_tm(slot, apid, service, subtype, dest_id, app_data_len, len(buf), offset)
        seq = self._seq_count[slot]
        self._seq_count[slot] = (seq + 1) & _SEQ_COUNT_MASK
        count = self._msg_count[slot]
        self._msg_count[slot] = (count + 1) & 0xFFFF
        time = self._time
        time.rebase()
        _pack_into(_TM_HDR_FMT, buf, offset,
                   0x0800 | apid,  # version 0, TM, secondary header present
                   0xC000 | seq,  # stand-alone packet
                   app_data_len + _TM_DATA_LEN_OVERHEAD,
                   0x20 | (time.time_ref_status & 0x0F),  # PUS version 2
                   service, subtype, count, dest_id,
                   _P_FIELD, time.days, time.ms_of_day)  # CDS short time code
        crc = packet_crc(buf, offset, end)
        buf[end] = crc >> 8
        buf[end + 1] = crc & 0xFF
        return end + 2 - offset

    def pack_into(self, buf, offset, apid, service, subtype, app_data, app_data_len=-1, dest_id=-1):
        """Pack a TM packet at ``buf[offset]`` with the first ``app_data_len`` octets
        of ``app_data`` (-1: all of it; ``app_data`` None: none); return its length.

        On ValueError the buffer may hold part of the packet.
        """
        at = offset + _TM_APP_DATA_OFFSET
        if app_data is None:  # no source data (e.g. TM[17,2])
            if app_data_len > 0:
                raise ValueError("source data length %d with no source data" % app_data_len)
            app_data_len = 0
        else:
            n = len(app_data)
            if app_data_len < 0:
                app_data_len = n
            elif app_data_len > n:
                raise ValueError("source data length %d beyond the %d octets given" % (app_data_len, n))
            if offset < 0 or at + app_data_len + 2 > len(buf):
                raise ValueError("no room for %d octets of source data in a %d-octet buffer at %d"
                                 % (app_data_len, len(buf), offset))
            if app_data_len == n:
                buf[at:at + n] = app_data
            else:  # part of a bigger buffer: copy octet by octet (a slice would allocate)
                i = 0
                while i < app_data_len:
                    buf[at + i] = app_data[i]
                    i += 1
        return self.seal(buf, offset, apid, service, subtype, app_data_len, dest_id)

    def pack(self, apid, service, subtype, app_data, app_data_len=-1, dest_id=-1):
        """Pack a TM packet into ``self.buf`` (from octet 0); return its length."""
        return self.pack_into(self.buf, 0, apid, service, subtype, app_data, app_data_len, dest_id)


# --- flight TC decoder ---------------------------------------------------------

class TcPacketReader:
    """Validates a received PUS TC and exposes its fields (allocation-free per packet).

    After ``parse`` returns OK every attribute below describes the packet.  After
    a failure, ``request_id_valid`` tells whether the first four octets (the
    ECSS request ID: packet ID and sequence control, which the acceptance
    failure report quotes) were present; ``packet_id``, ``seq_ctrl``, ``apid``,
    ``seq_flags`` and ``seq_count`` then hold them.
    """

    def __init__(self):
        self.request_id_valid = False  # first 4 octets present (request ID readable)
        self.packet_id = 0  # version, type, sec. header flag, APID (16 bits)
        self.seq_ctrl = 0  # sequence flags and count (16 bits)
        self.apid = 0  # application process ID
        self.seq_flags = 0  # SEQ_FLAGS_UNSEGMENTED for a valid TC
        self.seq_count = 0  # packet sequence count (14 bits)
        self.ack_flags = 0  # ACK_* bits the sender asked for
        self.service = 0  # service type
        self.subtype = 0  # message subtype
        self.source_id = 0  # who sent it (ground station, on-board process)
        self.app_data_offset = 0  # index of the first application data octet in the buffer
        self.app_data_len = 0  # octets of application data
        self.packet_len = 0  # octets in the packet, CRC included

    def parse(self, buf, n, offset=0):
        """Validate the ``n`` octets at ``buf[offset]`` as one PUS TC; return OK or a failure code.

        Same argument order as ``bus.tc_frame.TcFrameReader.parse``.

        ``n`` must be exactly the packet's length (split a blocked data field
        with ``bus.spacepacket.packet_len_of`` first).
        """
        if n < 4 or offset < 0 or offset + 4 > len(buf):
            self.request_id_valid = False
            return INCOMPLETE
        pid = (buf[offset] << 8) | buf[offset + 1]
        psc = (buf[offset + 2] << 8) | buf[offset + 3]
        self.packet_id = pid
        self.seq_ctrl = psc
        self.apid = pid & APID_MASK
        self.seq_flags = psc >> 14
        self.seq_count = psc & SEQ_COUNT_MASK
        self.request_id_valid = True
        code = check_packet(buf, offset, n, 1, TC_MIN_LEN)
        if code:
            return code
        if self.seq_flags != SEQ_FLAGS_UNSEGMENTED:
            return ILLEGAL_SEQ_FLAGS
        self.ack_flags = buf[offset + 6] & 0x0F
        self.service = buf[offset + 7]
        self.subtype = buf[offset + 8]
        self.source_id = (buf[offset + 9] << 8) | buf[offset + 10]
        self.app_data_offset = offset + TC_APP_DATA_OFFSET
        self.app_data_len = n - TC_MIN_LEN
        self.packet_len = n
        return OK

    def request_id_into(self, buf, offset):
        """Write the 4-octet ECSS request ID (packet ID, sequence control); return ``offset + 4``."""
        struct.pack_into(">HH", buf, offset, self.packet_id, self.seq_ctrl)
        return offset + 4


# --- TC encoder (ground, tests) ------------------------------------------------

def pack_tc_into(buf, apid, seq_count, service, subtype, app_data=b"", ack_flags=ACK_ALL, source_id=0,
                 offset=0):
    """Pack a PUS TC at ``buf[offset]``; return its length in octets.

    Every field is range-checked (ValueError naming the limit).
    """
    _check_field("APID", apid, APID_MASK)
    _check_field("sequence count", seq_count, SEQ_COUNT_MASK)
    _check_field("service type", service, 0xFF)
    _check_field("message subtype", subtype, 0xFF)
    _check_field("acknowledgement flags", ack_flags, 0x0F)
    _check_field("source ID", source_id, 0xFFFF)
    n_data = len(app_data)
    _check_field("application data length", n_data, TC_MAX_APP_DATA_LEN)
    end = offset + TC_APP_DATA_OFFSET + n_data
    if offset < 0 or end + CRC_LEN > len(buf):
        raise ValueError("no room for a %d-octet TC in a %d-octet buffer at %d"
                         % (end + CRC_LEN - offset, len(buf), offset))
    struct.pack_into(">HHHBBBH", buf, offset,
                     0x1800 | apid,  # version 0, TC, secondary header present
                     0xC000 | seq_count,  # stand-alone packet
                     n_data + (TC_MIN_LEN - PRIMARY_HEADER_LEN - 1),
                     (PUS_VERSION << 4) | ack_flags, service, subtype, source_id)
    buf[offset + TC_APP_DATA_OFFSET:end] = app_data
    _store_crc(buf, offset, end)
    return end + CRC_LEN - offset


def pack_tc(apid, seq_count, service, subtype, app_data=b"", ack_flags=ACK_ALL, source_id=0):
    """A new ``bytes`` holding the PUS TC (ground convenience around pack_tc_into)."""
    buf = bytearray(TC_MIN_LEN + len(app_data))
    pack_tc_into(buf, apid, seq_count, service, subtype, app_data, ack_flags, source_id)
    return bytes(buf)


# --- TM decoder (ground; runs on MicroPython too) ------------------------------

class TmPacket:
    """A decoded PUS TM packet (ground side; one object per packet)."""

    def __init__(self, apid, seq_flags, seq_count, time_ref_status, service, subtype, msg_count, dest_id,
                 days, ms_of_day, app_data):
        self.apid = apid
        self.seq_flags = seq_flags
        self.seq_count = seq_count
        self.time_ref_status = time_ref_status
        self.service = service
        self.subtype = subtype
        self.msg_count = msg_count  # message type counter
        self.dest_id = dest_id
        self.days = days  # CDS day segment (days since 1958-01-01)
        self.ms_of_day = ms_of_day
        self.app_data = app_data  # bytes: the source data

    def fields(self):
        """All fields as a tuple, in constructor order."""
        return (self.apid, self.seq_flags, self.seq_count, self.time_ref_status, self.service, self.subtype,
                self.msg_count, self.dest_id, self.days, self.ms_of_day, self.app_data)

    def __eq__(self, other):
        return isinstance(other, TmPacket) and self.fields() == other.fields()

    def __repr__(self):
        return ("TmPacket(apid=0x%03x, seq_count=%d, service=%d, subtype=%d, msg_count=%d, dest_id=%d, "
                "days=%d, ms_of_day=%d, %d octets)" % (self.apid, self.seq_count, self.service, self.subtype,
                                                       self.msg_count, self.dest_id, self.days,
                                                       self.ms_of_day, len(self.app_data)))


def check_tm(buf, offset, n):
    """Failure code of ``n`` octets at ``buf[offset]`` as one PUS TM with a CDS short time, or OK."""
    code = check_packet(buf, offset, n, 0, TM_MIN_LEN)
    if code:
        return code
    if buf[offset + PRIMARY_HEADER_LEN + TM_SEC_HDR_LEN] != P_FIELD:
        return ILLEGAL_TIME_CODE
    return OK


def unpack_tm(buf, offset=0, n=-1):
    """Decode the PUS TM of ``n`` octets (-1: the rest of ``buf``) at ``buf[offset]``.

    Returns a ``TmPacket``; raises ``PusError`` with a failure code.
    """
    if n < 0:
        n = len(buf) - offset
    code = check_tm(buf, offset, n)
    if code:
        raise PusError(code)
    o = offset
    t = o + PRIMARY_HEADER_LEN + TM_SEC_HDR_LEN
    return TmPacket(
        ((buf[o] & 0x07) << 8) | buf[o + 1],
        buf[o + 2] >> 6,
        ((buf[o + 2] & 0x3F) << 8) | buf[o + 3],
        buf[o + 6] & 0x0F,
        buf[o + 7],
        buf[o + 8],
        (buf[o + 9] << 8) | buf[o + 10],
        (buf[o + 11] << 8) | buf[o + 12],
        (buf[t + 1] << 8) | buf[t + 2],
        (buf[t + 3] << 24) | (buf[t + 4] << 16) | (buf[t + 5] << 8) | buf[t + 6],
        bytes(buf[o + TM_APP_DATA_OFFSET:o + n - CRC_LEN]),
    )

