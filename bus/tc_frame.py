"""TC Transfer Frames (CCSDS 232.0-B-4) with segment header and FECF.

Layout (octets)::

    0..4   primary header (§4.1.2)
             version (2 bits, 00) | bypass flag (1) | control command flag (1) |
             spare (2, 00) | spacecraft id (10) | virtual channel id (6) |
             frame length (10: total octets - 1) | frame sequence number N(S) (8)
    5      segment header (§4.1.3.2), Type-D frames only:
             sequence flags (2 bits, 11 = unsegmented) | MAP id (6)
    ..     frame data (a packet for Type-AD/BD, a control command for Type-BC)
    n-2    FECF: CRC-16/CCITT-FALSE over all preceding octets (§4.1.4)

The two flags give the frame type (§4.1.2.3, §4.1.2.4)::

    bypass ctrl   type
    0      0      Type-AD  sequence-controlled data (FARM-1 checks N(S))
    1      0      Type-BD  expedited data (no sequence check)
    1      1      Type-BC  control command for the FARM: Unlock, Set V(R)
    0      1      reserved (Type-AC is invalid) -> REJECT_TYPE

Control commands (232.0-B §4.1.3.3, 232.1-B §6.1.8): Unlock is the single octet
0x00; Set V(R) is 0x82 0x00 followed by the new V(R).  Type-BC frames carry no
segment header.

This mission always uses the segment header on Type-D frames and never segments
(sequence flags 11): a frame carries whole packets.  The FECF is mandatory.
The reader checks, in order: size against the configured maximum, the frame
length field against the octets received, the FECF, the version, the frame
type, the SCID, the VCID, then the segment header or the control command; it
does not check the two spare bits (written as 00).

On board, ``TcFrameReader.parse`` validates a candidate frame in place and
allocates nothing; the ground (and the tests) write frames with
``pack_tc_frame_into``.
"""

from bus.compat import const
from bus.crc16 import crc16

PRIMARY_HEADER_LEN = const(5)
SEGMENT_HEADER_LEN = const(1)
FECF_LEN = const(2)
MAX_FRAME_LEN = const(1024)  # 232.0-B §4.1.2.7: frame length field is 10 bits
MIN_FRAME_LEN = const(7)  # header + FECF (+ at least one data octet for any valid type)
SCID_MAX = const(0x3FF)
VCID_MAX = const(0x3F)
MAP_ID_MAX = const(0x3F)
SEQ_MAX = const(0xFF)
# Largest data field of a Type-D frame (header, segment header and FECF take 8 octets)
MAX_DATA_LEN = const(1016)

# Frame types: the value of the (bypass, control command) flag pair
FRAME_AD = const(0)  # Type-AD
FRAME_BD = const(2)  # Type-BD
FRAME_BC = const(3)  # Type-BC
_FRAME_AC = const(1)  # reserved combination

# Sequence flags of the segment header (232.0-B §4.1.3.2.2)
SEQ_FLAGS_UNSEGMENTED = const(3)

# Control commands carried by Type-BC frames
BC_NONE = const(0)  # not a BC frame
BC_UNLOCK = const(1)  # Unlock: 0x00
BC_SET_VR = const(2)  # Set V(R): 0x82 0x00 V(R)
_SET_VR_OCTET0 = const(0x82)

# parse() results: OK, or why the frame was rejected.  Counted per code in
# ``TcFrameReader.rejected`` (index = code).
OK = const(0)
REJECT_TOO_SHORT = const(1)  # fewer octets than header + FECF (+ segment header)
REJECT_TOO_LONG = const(2)  # more octets than the configured maximum frame length
REJECT_LENGTH = const(3)  # frame length field + 1 differs from the octets received
REJECT_CRC = const(4)  # FECF does not match
REJECT_VERSION = const(5)  # transfer frame version number is not 00
REJECT_TYPE = const(6)  # bypass 0 with control command 1 (reserved)
REJECT_SCID = const(7)  # another spacecraft's frame
REJECT_VCID = const(8)  # virtual channel not configured on board
REJECT_SEGMENT = const(9)  # sequence flags other than 11 (segmentation unsupported)
REJECT_BC = const(10)  # Type-BC frame whose data is neither Unlock nor Set V(R)
N_RESULTS = const(11)

RESULT_NAMES = (
    "ok", "too_short", "too_long", "length", "crc", "version", "type", "scid", "vcid",
    "segment", "bc",
)


def pack_tc_frame_into(buf, scid, vcid, frame_type, seq, data, map_id=0, offset=0):
    """Write a complete TC frame into ``buf`` at ``offset``; return its length.

    ``frame_type`` is FRAME_AD, FRAME_BD or FRAME_BC; ``seq`` is N(S) (Type-AD)
    and is conventionally 0 for Type-B frames.  ``data`` is the packet (Type-D,
    a segment header with ``map_id`` is put before it) or the control command
    (Type-BC, see ``UNLOCK`` and ``set_vr_command``).  Raises ValueError on a
    field out of range or a frame longer than MAX_FRAME_LEN.
    """
    if not 0 <= scid <= SCID_MAX:
        raise ValueError("scid %d outside 0..%d" % (scid, SCID_MAX))
    if not 0 <= vcid <= VCID_MAX:
        raise ValueError("vcid %d outside 0..%d" % (vcid, VCID_MAX))
    if not 0 <= seq <= SEQ_MAX:
        raise ValueError("frame sequence number %d outside 0..%d" % (seq, SEQ_MAX))
    if not 0 <= map_id <= MAP_ID_MAX:
        raise ValueError("map id %d outside 0..%d" % (map_id, MAP_ID_MAX))
    if frame_type == FRAME_BC:
        seg = 0
    elif frame_type == FRAME_AD or frame_type == FRAME_BD:
        seg = SEGMENT_HEADER_LEN
    else:
        raise ValueError("frame type %d is not FRAME_AD, FRAME_BD or FRAME_BC" % frame_type)
    n = len(data)
    if n == 0:
        raise ValueError("frame data is empty")
    total = PRIMARY_HEADER_LEN + seg + n + FECF_LEN
    if total > MAX_FRAME_LEN:
        raise ValueError("frame of %d octets exceeds %d" % (total, MAX_FRAME_LEN))
    if offset + total > len(buf):
        raise ValueError("buffer of %d octets too small for a %d-octet frame at %d"
                         % (len(buf), total, offset))
    length = total - 1
    o = offset
    buf[o] = (frame_type << 4) | (scid >> 8)  # version 00, flags, spare 00, SCID[9:8]
    buf[o + 1] = scid & 0xFF
    buf[o + 2] = (vcid << 2) | (length >> 8)
    buf[o + 3] = length & 0xFF
    buf[o + 4] = seq
    o += PRIMARY_HEADER_LEN
    if seg:
        buf[o] = (SEQ_FLAGS_UNSEGMENTED << 6) | map_id
        o += 1
    i = 0
    while i < n:
        buf[o + i] = data[i]
        i += 1
    o += n
    c = crc16(buf, offset, o)
    buf[o] = c >> 8
    buf[o + 1] = c & 0xFF
    return total


def tc_frame(scid, vcid, frame_type, seq, data, map_id=0):
    """A new ``bytes`` TC frame (ground side and tests; allocates)."""
    buf = bytearray(PRIMARY_HEADER_LEN + SEGMENT_HEADER_LEN + len(data) + FECF_LEN)
    n = pack_tc_frame_into(buf, scid, vcid, frame_type, seq, data, map_id)
    return bytes(buf[:n])


UNLOCK = b"\x00"  # the Unlock control command


def set_vr_command(vr):
    """The Set V(R) control command (3 octets) for the new receiver sequence number ``vr``."""
    if not 0 <= vr <= SEQ_MAX:
        raise ValueError("V(R) %d outside 0..%d" % (vr, SEQ_MAX))
    return bytes((_SET_VR_OCTET0, 0x00, vr))


class TcFrameReader:
    """Validates received TC frames in place (on board; allocates nothing per frame).

    ``scid``: this spacecraft's id; ``vcids``: the virtual channels accepted
    (iterable of ints, default all 64); ``max_len``: largest frame accepted
    (octets, at most MAX_FRAME_LEN).  After ``parse`` returns OK the attributes
    below describe the frame; the data stays in the caller's buffer.
    """

    def __init__(self, scid, vcids=None, max_len=MAX_FRAME_LEN):
        if not 0 <= scid <= SCID_MAX:
            raise ValueError("scid %d outside 0..%d" % (scid, SCID_MAX))
        if not MIN_FRAME_LEN + 1 <= max_len <= MAX_FRAME_LEN:
            raise ValueError("max_len %d outside %d..%d" % (max_len, MIN_FRAME_LEN + 1, MAX_FRAME_LEN))
        self.scid = scid
        self.max_len = max_len  # octets
        self._vc_ok = bytearray(VCID_MAX + 1)  # 1: virtual channel accepted
        if vcids is None:
            vcids = range(VCID_MAX + 1)
        for v in vcids:
            if not 0 <= v <= VCID_MAX:
                raise ValueError("vcid %d outside 0..%d" % (v, VCID_MAX))
            self._vc_ok[v] = 1
        self.rejected = [0] * N_RESULTS  # count per rejection code (index 0 unused)
        self.accepted = 0  # frames that passed every check
        # fields of the last frame that passed (meaningless after a rejection)
        self.frame_type = FRAME_AD  # FRAME_AD, FRAME_BD or FRAME_BC
        self.vcid = 0
        self.seq = 0  # N(S)
        self.map_id = 0  # Type-D only
        self.data_offset = 0  # first octet of the packet / control command in the buffer
        self.data_len = 0  # octets of packet / control command
        self.frame_len = 0  # octets of the whole frame
        self.bc_command = BC_NONE  # BC_UNLOCK or BC_SET_VR for Type-BC frames
        self.bc_vr = 0  # the V(R) of a Set V(R) command

    def parse(self, buf, n, offset=0):
        """Validate the ``n``-octet frame at ``buf[offset:]``; return OK or a REJECT_* code."""
        r = self._check(buf, n, offset)
        if r:
            self.rejected[r] += 1
        else:
            self.accepted += 1
        return r

    def _check(self, buf, n, o):
        if n < MIN_FRAME_LEN:
            return REJECT_TOO_SHORT
        if n > self.max_len:
            return REJECT_TOO_LONG
        if o + n > len(buf):
            return REJECT_LENGTH
        b0 = buf[o]
        b2 = buf[o + 2]
        if ((b2 & 0x03) << 8 | buf[o + 3]) + 1 != n:
            return REJECT_LENGTH
        end = o + n - FECF_LEN
        if crc16(buf, o, end) != (buf[end] << 8 | buf[end + 1]):
            return REJECT_CRC
        if b0 & 0xC0:
            return REJECT_VERSION
        ftype = (b0 >> 4) & 0x03
        if ftype == _FRAME_AC:
            return REJECT_TYPE
        if ((b0 & 0x03) << 8 | buf[o + 1]) != self.scid:
            return REJECT_SCID
        vcid = b2 >> 2
        if not self._vc_ok[vcid]:
            return REJECT_VCID
        d = o + PRIMARY_HEADER_LEN
        if ftype == FRAME_BC:
            dlen = end - d
            b = buf[d]
            if dlen == 1 and b == 0:
                self.bc_command = BC_UNLOCK
            elif dlen == 3 and b == _SET_VR_OCTET0 and buf[d + 1] == 0:
                self.bc_command = BC_SET_VR
                self.bc_vr = buf[d + 2]
            else:
                return REJECT_BC
            self.map_id = 0
        else:
            if end - d < SEGMENT_HEADER_LEN + 1:
                return REJECT_TOO_SHORT
            sh = buf[d]
            if sh >> 6 != SEQ_FLAGS_UNSEGMENTED:
                return REJECT_SEGMENT
            self.map_id = sh & MAP_ID_MAX
            self.bc_command = BC_NONE
            d += SEGMENT_HEADER_LEN
        self.frame_type = ftype
        self.vcid = vcid
        self.seq = buf[o + 4]
        self.data_offset = d
        self.data_len = end - d
        self.frame_len = n
        return OK

    def reset_counters(self):
        i = 0
        while i < N_RESULTS:
            self.rejected[i] = 0
            i += 1
        self.accepted = 0
