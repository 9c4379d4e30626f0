"""TM Transfer Frames (CCSDS 132.0-B-3), fixed length, with OCF and FECF.

Layout (octets)::

    0..5        primary header (§4.1.2)
                  version (2 bits, 00) | spacecraft id (10) | virtual channel id (3) |
                  OCF flag (1, always 1 here) | master channel frame count (8) |
                  virtual channel frame count (8) | data field status (16):
                  secondary header flag 0 | synchronisation flag 0 | packet order flag 0 |
                  segment length id 11 | first header pointer (11)
    6..L-7      data field: space packets, back to back, spanning frames
    L-6..L-3    operational control field: the CLCW (§4.1.5)
    L-2..L-1    FECF: CRC-16/CCITT-FALSE over all preceding octets (§4.1.6)

First header pointer (§4.1.2.7.6): offset in the data field of the first packet
header that starts in this frame; FHP_NO_PACKET (0x7FF) when no packet starts
here (the frame continues a long packet); FHP_IDLE (0x7FE) when the data field
holds only idle data (idle frames).

Virtual channels: the builder serves VCs 0..n-1 (this mission: real-time
housekeeping, events, stored playback) and sends idle frames on IDLE_VCID (7)
when nothing is pending.  On a byte stream each frame is preceded by the
attached sync marker ASM (CCSDS 131.0-B §9.3).

On board ``TmFrameBuilder`` owns the frame buffer and the per-VC queues and
allocates nothing per frame.  The ground's ``TmFrameReader`` and
``AsmSynchroniser`` allocate freely (CPython) but still import on MicroPython.
"""

from array import array

from bus.clcw import clcw_from, clcw_into
from bus.compat import const
from bus.crc16 import crc16

PRIMARY_HEADER_LEN = const(6)
OCF_LEN = const(4)
FECF_LEN = const(2)
OVERHEAD_LEN = const(12)  # header + OCF + FECF
MAX_FRAME_LEN = const(2048)  # 132.0-B-3 §4.1.1
SCID_MAX = const(0x3FF)
VCID_MAX = const(7)
IDLE_VCID = const(7)
FHP_NO_PACKET = const(0x7FF)  # no packet header starts in this frame
FHP_IDLE = const(0x7FE)  # only idle data in this frame
SEGMENT_LENGTH_ID = const(3)  # '11': required when the synchronisation flag is 0
IDLE_OCTET = const(0x55)  # idle frame data and idle packet data (mission choice)

ASM = b"\x1a\xcf\xfc\x1d"  # attached sync marker 0x1ACFFC1D
ASM_LEN = const(4)

# Space packet primary header (133.0-B-2): the fields the frame layer needs
PACKET_HEADER_LEN = const(6)
MIN_PACKET_LEN = const(7)
IDLE_APID = const(0x7FF)


def pack_tm_header_into(buf, offset, scid, vcid, mc_count, vc_count, fhp, ocf_flag=1):
    """Write the 6-octet primary header at ``buf[offset:]`` (no allocation, no checks)."""
    buf[offset] = scid >> 4  # version 00 | SCID[9:4]
    buf[offset + 1] = ((scid & 0x0F) << 4) | (vcid << 1) | (1 if ocf_flag else 0)
    buf[offset + 2] = mc_count
    buf[offset + 3] = vc_count
    buf[offset + 4] = (SEGMENT_LENGTH_ID << 3) | (fhp >> 8)  # flags 0, 0, 0, '11', FHP[10:8]
    buf[offset + 5] = fhp & 0xFF


TM_HEADER_FIELDS = ("version", "scid", "vcid", "ocf_flag", "mc_count", "vc_count",
                    "sec_header_flag", "sync_flag", "packet_order_flag", "segment_length_id",
                    "fhp")


def unpack_tm_header(buf, offset=0):
    """The primary header's fields as a tuple in TM_HEADER_FIELDS order (allocates)."""
    b0 = buf[offset]
    b1 = buf[offset + 1]
    b4 = buf[offset + 4]
    return (
        b0 >> 6,
        ((b0 & 0x3F) << 4) | (b1 >> 4),
        (b1 >> 1) & 0x07,
        b1 & 1,
        buf[offset + 2],
        buf[offset + 3],
        b4 >> 7,
        (b4 >> 6) & 1,
        (b4 >> 5) & 1,
        (b4 >> 3) & 3,
        ((b4 & 0x07) << 8) | buf[offset + 5],
    )


def asm_into(buf, offset=0):
    """Write the attached sync marker at ``buf[offset:offset + 4]``."""
    buf[offset] = 0x1A
    buf[offset + 1] = 0xCF
    buf[offset + 2] = 0xFC
    buf[offset + 3] = 0x1D


def fecf_ok(frame, offset=0, n=-1):
    """True when the frame's FECF matches (the CRC over frame and FECF is 0)."""
    if n < 0:
        n = len(frame) - offset
    return crc16(frame, offset, offset + n) == 0


class TmFrameBuilder:
    """Builds fixed-length TM frames from per-VC packet queues (on board).

    ``scid``: spacecraft id; ``frame_len``: octets per frame (e.g. 1115 or 512);
    ``vc_slots``: for VC 0, 1, ... the queue capacity in frames' worth of data
    field (capacity in octets = slots * ``data_len``); ``asm``: put the attached
    sync marker before each frame in ``self.frame``.

    Each VC's queue is a ring of data-field-sized slots into which
    ``queue_packet`` copies packets back to back, packets spanning slots; each
    slot remembers its first header pointer.  Overflow policy: a packet that
    does not fit entirely in its VC's free space is refused (``queue_packet``
    returns False) and counted in ``dropped[vc]``; queued packets are never
    overwritten.

    ``next_frame(clcw)`` emits, in this order of preference: the oldest full
    slot of the lowest-numbered VC that has one (strict priority: VC 0 first);
    else the partly filled slot of the lowest VC holding packet data, completed
    with an idle packet; else an idle frame on IDLE_VCID.  It returns
    ``self.frame`` (ASM + frame when ``asm``), valid until the next call.
    Counters: ``mc_count``, ``vc_counts[v]`` (mod 256), ``frames``,
    ``idle_frames``, ``queued[v]``, ``dropped[v]``.
    """

    def __init__(self, scid, frame_len=1115, vc_slots=(4,), asm=False):
        if not 0 <= scid <= SCID_MAX:
            raise ValueError("scid %d outside 0..%d" % (scid, SCID_MAX))
        if not OVERHEAD_LEN + MIN_PACKET_LEN <= frame_len <= MAX_FRAME_LEN:
            raise ValueError("frame_len %d outside %d..%d" % (frame_len, OVERHEAD_LEN + MIN_PACKET_LEN,
                                                              MAX_FRAME_LEN))
        nvc = len(vc_slots)
        if not 1 <= nvc <= IDLE_VCID:
            raise ValueError("%d packet virtual channels: 1..%d (VC %d is idle)" % (nvc, IDLE_VCID, IDLE_VCID))
        for n in vc_slots:
            if not 2 <= n <= 255:
                raise ValueError("vc_slots %d outside 2..255" % n)
        self.scid = scid
        self.frame_len = frame_len  # octets, without the ASM
        self.data_len = frame_len - OVERHEAD_LEN  # data field octets
        L = self.data_len
        self._off = ASM_LEN if asm else 0  # where the frame starts in self.frame
        self.frame = bytearray(self._off + frame_len)  # the frame last emitted (with ASM)
        if asm:
            asm_into(self.frame, 0)
        self._nvc = nvc
        self._slots = [[bytearray(L) for _ in range(n)] for n in vc_slots]
        self._fhp = [array("H", [FHP_NO_PACKET] * n) for n in vc_slots]  # per slot
        self._head = bytearray(nvc)  # index of each VC's oldest slot
        self._used = bytearray(nvc)  # slots in use (the newest may be partly filled)
        self._wpos = array("H", [L] * nvc)  # octets written in each VC's newest slot
        self._real = bytearray(nvc)  # 1: the newest slot holds packet data, not only idle
        self._idle_hdr = bytearray(PACKET_HEADER_LEN)  # idle packet header scratch
        self._idle_fill = bytearray(L)  # idle pattern
        for i in range(L):
            self._idle_fill[i] = IDLE_OCTET
        self.mc_count = 0  # master channel frame count of the next frame
        self.vc_counts = bytearray(VCID_MAX + 1)  # VC frame count of each VC's next frame
        self.frames = 0  # frames emitted (idle included)
        self.idle_frames = 0  # idle frames emitted
        self.queued = [0] * nvc  # packets accepted per VC
        self.dropped = [0] * nvc  # packets refused per VC (queue full)

    def free_bytes(self, vcid):
        """Octets VC ``vcid`` can still take."""
        used = self._used[vcid]
        free = (len(self._slots[vcid]) - used) * self.data_len
        if used:
            free += self.data_len - self._wpos[vcid]
        return free

    def pending(self, vcid):
        """Slots of VC ``vcid`` holding data (full or partly filled)."""
        return self._used[vcid]

    def queue_packet(self, vcid, pkt, n=-1):
        """Queue the space packet ``pkt[0:n]`` (whole ``pkt`` when n < 0) on VC ``vcid``.

        Returns True, or False when it does not fit (refused and counted).
        Raises ValueError for an unknown VC or a packet shorter than 7 octets.
        """
        if not 0 <= vcid < self._nvc:
            raise ValueError("vcid %d has no queue (0..%d)" % (vcid, self._nvc - 1))
        if n < 0:
            n = len(pkt)
        if n < MIN_PACKET_LEN or n > len(pkt):
            raise ValueError("packet of %d octets (buffer %d): at least %d" % (n, len(pkt), MIN_PACKET_LEN))
        if n > self.free_bytes(vcid):
            self.dropped[vcid] += 1
            return False
        self._put(vcid, pkt, n, 1)
        self._real[vcid] = 1
        self.queued[vcid] += 1
        return True

    def _put(self, v, src, n, packet_start):
        """Copy ``src[0:n]`` behind VC ``v``'s data; ``packet_start``: a packet begins here."""
        L = self.data_len
        slots = self._slots[v]
        nslots = len(slots)
        s = 0
        while s < n:
            used = self._used[v]
            w = self._wpos[v]
            if used == 0 or w == L:  # open a new slot
                idx = self._head[v] + used
                if idx >= nslots:
                    idx -= nslots
                used += 1
                self._used[v] = used
                self._fhp[v][idx] = FHP_NO_PACKET
                self._real[v] = 0
                w = 0
            else:
                idx = self._head[v] + used - 1
                if idx >= nslots:
                    idx -= nslots
            if packet_start:
                if self._fhp[v][idx] == FHP_NO_PACKET:
                    self._fhp[v][idx] = w
                packet_start = 0
            k = L - w
            if k > n - s:
                k = n - s
            slot = slots[idx]
            if s == 0 and k == len(src):
                slot[w:w + k] = src  # whole source: a memcpy, no allocation
            else:
                i = 0
                while i < k:
                    slot[w + i] = src[s + i]
                    i += 1
            s += k
            self._wpos[v] = w + k

    def _pad(self, v):
        """Complete VC ``v``'s partly filled newest slot with an idle packet; False if impossible."""
        r = self.data_len - self._wpos[v]
        size = r
        if r < MIN_PACKET_LEN:  # the idle packet must spill into a fresh slot
            if self._used[v] >= len(self._slots[v]):
                return False
            size = MIN_PACKET_LEN
        h = self._idle_hdr
        h[0] = IDLE_APID >> 8  # version 0, type TM, no secondary header
        h[1] = IDLE_APID & 0xFF
        h[2] = 0xC0  # unsegmented, sequence count 0
        h[3] = 0
        dl = size - MIN_PACKET_LEN
        h[4] = dl >> 8
        h[5] = dl & 0xFF
        self._put(v, h, PACKET_HEADER_LEN, 1)
        self._put(v, self._idle_fill, size - PACKET_HEADER_LEN, 0)
        return True

    def next_frame(self, clcw):
        """Emit the next frame with ``clcw`` in its OCF; return ``self.frame``."""
        L = self.data_len
        v = 0
        while v < self._nvc:
            used = self._used[v]
            if used > 1 or (used == 1 and self._wpos[v] == L):
                return self._emit(v, clcw)
            v += 1
        v = 0
        while v < self._nvc:
            if self._used[v] == 1 and self._real[v] and self._pad(v):
                return self._emit(v, clcw)
            v += 1
        return self._emit_idle(clcw)

    def _emit(self, v, clcw):
        idx = self._head[v]
        o = self._off
        f = self.frame
        d = o + PRIMARY_HEADER_LEN
        f[d:d + self.data_len] = self._slots[v][idx]  # whole slot: a memcpy
        self._finish(v, self._fhp[v][idx], clcw)
        idx += 1
        if idx >= len(self._slots[v]):
            idx = 0
        self._head[v] = idx
        used = self._used[v] - 1
        self._used[v] = used
        if used == 0:
            self._wpos[v] = self.data_len
        return f

    def _emit_idle(self, clcw):
        o = self._off
        d = o + PRIMARY_HEADER_LEN
        self.frame[d:d + self.data_len] = self._idle_fill
        self._finish(IDLE_VCID, FHP_IDLE, clcw)
        self.idle_frames += 1
        return self.frame

    def _finish(self, v, fhp, clcw):
        f = self.frame
        o = self._off
        pack_tm_header_into(f, o, self.scid, v, self.mc_count, self.vc_counts[v], fhp)
        e = o + PRIMARY_HEADER_LEN + self.data_len
        clcw_into(f, e, clcw)
        e += OCF_LEN
        c = crc16(f, o, e)
        f[e] = c >> 8
        f[e + 1] = c & 0xFF
        self.mc_count = (self.mc_count + 1) & 0xFF
        self.vc_counts[v] = (self.vc_counts[v] + 1) & 0xFF
        self.frames += 1


# Ground side: allocation is fine here (CPython), but the module imports on MicroPython.

class TmFrameReader:
    """Checks TM frames and reassembles space packets per VC (ground).

    ``read(frame)`` returns the list of ``(vcid, packet bytes)`` completed by
    this frame (idle packets dropped).  A frame with a wrong length, version,
    SCID or FECF is counted and ignored.  A VC frame count that skips values is
    a gap: the partial packet of that VC is discarded and the VC resynchronises
    on the next first header pointer.  ``clcw`` is the last CLCW seen (None
    before the first frame), ``ocf_flag`` permitting.
    """

    def __init__(self, scid, frame_len=1115):
        self.scid = scid
        self.frame_len = frame_len
        self.data_len = frame_len - OVERHEAD_LEN
        self.clcw = None  # last CLCW received (int)
        self.frames = 0  # frames accepted
        self.idle_frames = 0  # accepted frames with FHP_IDLE
        self.length_errors = 0
        self.version_errors = 0
        self.scid_errors = 0
        self.crc_errors = 0
        self.vc_gaps = 0  # VC frames missing, summed over VCs
        self.mc_gaps = 0  # master channel frames missing
        self.fhp_errors = 0  # first header pointer inconsistent with the packet being reassembled
        self.partials_discarded = 0  # partial packets thrown away (gap or inconsistency)
        self.packets = 0  # packets delivered (idle excluded)
        self.idle_packets = 0  # idle packets dropped
        self.vc_frames = [0] * (VCID_MAX + 1)  # frames accepted per VC
        self._vc_next = [-1] * (VCID_MAX + 1)  # expected VC frame count (-1: none yet)
        self._mc_next = -1
        self._partial = [None] * (VCID_MAX + 1)  # None: not synchronised; else bytearray prefix

    def read(self, frame):
        """Check one frame (exactly ``frame_len`` octets); return the packets it completed."""
        out = []
        if len(frame) != self.frame_len:
            self.length_errors += 1
            return out
        if not fecf_ok(frame):
            self.crc_errors += 1
            return out
        h = unpack_tm_header(frame)
        if h[0] != 0:
            self.version_errors += 1
            return out
        if h[1] != self.scid:
            self.scid_errors += 1
            return out
        v = h[2]
        self.frames += 1
        self.vc_frames[v] += 1
        if h[3]:
            self.clcw = clcw_from(frame, self.frame_len - FECF_LEN - OCF_LEN)
        mc = h[4]
        if self._mc_next >= 0 and mc != self._mc_next:
            self.mc_gaps += (mc - self._mc_next) & 0xFF
        self._mc_next = (mc + 1) & 0xFF
        vc = h[5]
        nxt = self._vc_next[v]
        if nxt >= 0 and vc != nxt:
            self.vc_gaps += (vc - nxt) & 0xFF
            self._desync(v)
        self._vc_next[v] = (vc + 1) & 0xFF
        fhp = h[10]
        if fhp == FHP_IDLE:
            self.idle_frames += 1
            return out
        data = frame[PRIMARY_HEADER_LEN:PRIMARY_HEADER_LEN + self.data_len]
        self._reassemble(v, data, fhp, out)
        return out

    def _desync(self, v):
        if self._partial[v]:
            self.partials_discarded += 1
        self._partial[v] = None

    def _deliver(self, v, pkt, out):
        apid = ((pkt[0] & 0x07) << 8) | pkt[1]
        if apid == IDLE_APID:
            self.idle_packets += 1
        else:
            self.packets += 1
            out.append((v, bytes(pkt)))

    def _reassemble(self, v, data, fhp, out):
        n = len(data)
        part = self._partial[v]
        if fhp != FHP_NO_PACKET and fhp >= n:
            self.fhp_errors += 1
            self._desync(v)
            return
        if part is not None:
            end = n if fhp == FHP_NO_PACKET else fhp
            part += data[:end]
            if len(part) >= PACKET_HEADER_LEN:
                total = MIN_PACKET_LEN + (part[4] << 8 | part[5])
            else:
                total = -1
            if fhp == FHP_NO_PACKET:
                if total >= 0 and len(part) > total:
                    self.fhp_errors += 1  # the packet should have ended: a header must start
                    self._desync(v)
                elif len(part) == total:
                    self._deliver(v, part, out)
                    self._partial[v] = bytearray()
                return
            if len(part) == total:
                self._deliver(v, part, out)
            elif len(part):
                self.fhp_errors += 1
                self.partials_discarded += 1
        elif fhp == FHP_NO_PACKET:
            return  # still looking for a packet start
        pos = fhp
        while pos < n:
            if n - pos < PACKET_HEADER_LEN:
                break
            total = MIN_PACKET_LEN + (data[pos + 4] << 8 | data[pos + 5])
            if pos + total > n:
                break
            self._deliver(v, data[pos:pos + total], out)
            pos += total
        self._partial[v] = bytearray(data[pos:])


class AsmSynchroniser:
    """Finds fixed-length frames behind attached sync markers in a byte stream (ground).

    ``feed(data)`` returns the frames (bytes, ASM removed) completed so far.  A
    candidate whose FECF fails is taken for a false marker (or a corrupted
    frame): the search resumes one octet after that marker.  Octets outside
    frames are counted in ``garbage``.
    """

    def __init__(self, frame_len, check_fecf=True):
        self.frame_len = frame_len
        self.check_fecf = check_fecf
        self._buf = b""  # octets not yet consumed
        self.frames = 0  # frames found
        self.garbage = 0  # octets skipped between frames
        self.rejected = 0  # markers followed by a frame whose FECF failed

    def feed(self, data):
        buf = self._buf + data
        out = []
        need = ASM_LEN + self.frame_len
        i = 0  # search position in buf
        while True:
            j = buf.find(ASM, i)
            if j < 0:
                k = len(buf) - (ASM_LEN - 1)  # the last 3 octets could begin a marker
                if k > i:
                    self.garbage += k - i
                    i = k
                break
            self.garbage += j - i
            i = j
            if len(buf) - i < need:
                break
            frame = bytes(buf[i + ASM_LEN:i + need])
            if self.check_fecf and not fecf_ok(frame):
                self.rejected += 1
                self.garbage += 1
                i += 1
                continue
            out.append(frame)
            self.frames += 1
            i += need
        self._buf = buf[i:]
        return out
