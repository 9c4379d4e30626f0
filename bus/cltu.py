"""CLTU: the uplink's Communications Link Transmission Unit (CCSDS 231.0-B-4 §5).

::

    start sequence  EB 90
    code blocks     7 information octets + 1 parity octet each (BCH(63,56) §3.3):
                    parity = complement of the remainder of x^7 * i(x) / g(x),
                    g(x) = x^7 + x^6 + x^2 + 1, register initially zero;
                    the eighth octet is the 7 parity bits followed by a filler bit 0
    tail sequence   C5 C5 C5 C5 C5 C5 C5 79

The frame is cut into 7-octet pieces; the last piece is completed with the fill
pattern 0x55 (§3.4).  The receiver uses the TC frame's own length field to know
where the fill begins.

g(x) = (x + 1)(x^6 + x + 1), so the code is an expurgated Hamming code with
distance 4: every single-bit error in the 63 code bits has its own syndrome
(correctable), and every double-bit error gives a syndrome that no single error
gives (detected).  The decoder runs in either mode of §3.3.4: single-error
correction (``correct=True``, the default) or error detection only.

On board ``CltuDecoder`` takes the byte stream one octet (or one buffer) at a
time, allocates nothing per byte, and owns the frame buffer it decodes into.
The ground encodes with ``cltu_encode``.  The link is octet-aligned (UART or
UDP), so the start sequence is searched on octet boundaries.
"""

from bus.compat import const

START_SEQUENCE = b"\xeb\x90"
TAIL_SEQUENCE = b"\xc5\xc5\xc5\xc5\xc5\xc5\xc5\x79"
FILL_OCTET = const(0x55)
INFO_LEN = const(7)  # information octets per code block
BLOCK_LEN = const(8)  # octets per code block on the wire
_POLY8 = const(0x8A)  # x^6 + x^2 + 1 (g without x^7) aligned to the octet's top 7 bits
_TAIL_OCTET = const(0xC5)
_TAIL_LAST = const(0x79)
_NO_ERROR = const(0xFE)  # syndrome table: no error
_UNCORRECTABLE = const(0xFF)  # syndrome table: not a single-bit error


def _make_table():
    t = bytearray(256)
    for i in range(256):
        c = i
        for _ in range(8):
            c = ((c << 1) ^ _POLY8) & 0xFF if c & 0x80 else (c << 1) & 0xFF
        t[i] = c
    return t


# Octet-wise BCH remainder: with r the remainder held in the top 7 bits of an
# octet, feeding information octet b gives r = _TABLE[r ^ b].
_TABLE = _make_table()


def _make_syndromes():
    """Syndrome (7 bits) -> position of the single erroneous bit (0..62), or _UNCORRECTABLE.

    Positions 0..55 are the information bits (octet k // 8, bit 7 - k % 8);
    56..62 the parity bits.  The code is linear and the complement cancels in
    the syndrome, so a single error's syndrome is the remainder of the error
    pattern alone.
    """
    s = bytearray(128)
    for i in range(128):
        s[i] = _UNCORRECTABLE
    s[0] = _NO_ERROR
    for k in range(56):
        r = 0
        for j in range(INFO_LEN):
            b = (0x80 >> (k & 7)) if j == k >> 3 else 0
            r = _TABLE[r ^ b]
        s[r >> 1] = k
    for j in range(7):
        s[1 << (6 - j)] = 56 + j
    return s


_SYNDROME = _make_syndromes()


def syndrome_position(syndrome):
    """The bit in error (0..62) for a 7-bit ``syndrome``; -1 for no error; -2 when uncorrectable."""
    e = _SYNDROME[syndrome & 0x7F]
    if e == _NO_ERROR:
        return -1
    if e == _UNCORRECTABLE:
        return -2
    return e


def bch_parity(buf, offset=0):
    """The parity octet (7 complemented parity bits + filler 0) of ``buf[offset:offset + 7]``."""
    r = 0
    t = _TABLE
    i = offset
    end = offset + INFO_LEN
    while i < end:
        r = t[r ^ buf[i]]
        i += 1
    return (~r) & 0xFE


def cltu_encode(frame, fill=FILL_OCTET):
    """The CLTU (bytes) carrying ``frame`` (ground side; allocates)."""
    n = len(frame)
    if n == 0:
        raise ValueError("empty frame")
    blocks = (n + INFO_LEN - 1) // INFO_LEN
    out = bytearray(len(START_SEQUENCE) + blocks * BLOCK_LEN + len(TAIL_SEQUENCE))
    out[0:2] = START_SEQUENCE
    block = bytearray(INFO_LEN)
    o = 2
    for b in range(blocks):
        for j in range(INFO_LEN):
            k = b * INFO_LEN + j
            block[j] = frame[k] if k < n else fill
        out[o:o + INFO_LEN] = block
        out[o + INFO_LEN] = bch_parity(block)
        o += BLOCK_LEN
    out[o:] = TAIL_SEQUENCE
    return bytes(out)


# Decoder states
_SEARCH = const(0)  # looking for the start sequence
_BLOCKS = const(1)  # inside a CLTU, collecting code blocks

# Why the last CLTU ended (``CltuDecoder.end_reason``)
END_NONE = const(0)
END_TAIL = const(1)  # the tail sequence
END_UNCORRECTABLE = const(2)  # an uncorrectable code block
END_OVERFLOW = const(3)  # more code blocks than the frame buffer holds


class CltuDecoder:
    """Streaming CLTU decoder (on board; no allocation per byte).

    ``max_frame_len``: the largest TC frame (octets); the buffer holds that many
    octets rounded up to whole code blocks.  ``correct``: True for single-error
    correction, False for detection only.

    ``feed(b)`` returns the length of a candidate frame now complete in
    ``self.frame`` (0 otherwise).  A candidate is handed back when a CLTU ends
    (tail sequence, uncorrectable block or overflow) and the decoded octets hold
    at least the length its frame header announces; the octets after it are fill.
    """

    def __init__(self, max_frame_len=1024, correct=True):
        if max_frame_len < 7:
            raise ValueError("max_frame_len %d below the 7-octet minimum TC frame" % max_frame_len)
        self.correct = correct  # True: single-error correction; False: detection only
        blocks = (max_frame_len + INFO_LEN - 1) // INFO_LEN
        self.frame = bytearray(blocks * INFO_LEN)  # decoded octets of the current CLTU
        self._cap = blocks * INFO_LEN
        self._state = _SEARCH
        self._prev = 0  # previous octet (start sequence search)
        self._pos = 0  # decoded octets of the current CLTU (whole blocks)
        self._k = 0  # octets of the current code block received
        self._r = 0  # BCH remainder of the current block's information octets
        self._tail = 0  # 1 while the current block's octets match the tail so far
        self.frame_len = 0  # length of the candidate frame handed back (0: none yet)
        self.end_reason = END_NONE
        self.cltus = 0  # start sequences found
        self.frames = 0  # candidate frames handed back
        self.blocks = 0  # code blocks decoded (tail excluded)
        self.corrected_blocks = 0  # blocks with one bit corrected
        self.rejected_blocks = 0  # uncorrectable blocks (not counting the tail)
        self.incomplete = 0  # CLTUs that ended before their frame was complete

    @property
    def in_cltu(self):
        """True between a start sequence and the end of its CLTU."""
        return self._state != _SEARCH

    def reset(self):
        """Abandon any CLTU in progress and search for a start sequence."""
        self._state = _SEARCH
        self._prev = 0

    def feed(self, b):
        """Take one octet; return the candidate frame's length when one completes, else 0."""
        if self._state == _SEARCH:
            if b == 0x90 and self._prev == 0xEB:
                self._state = _BLOCKS
                self._pos = 0
                self._k = 0
                self._r = 0
                self._tail = 1
                self.cltus += 1
                self._prev = 0
            else:
                self._prev = b
            return 0
        k = self._k
        if k < INFO_LEN:
            p = self._pos + k
            if p < self._cap:
                self.frame[p] = b
            self._r = _TABLE[self._r ^ b]
            if b != _TAIL_OCTET:
                self._tail = 0
            self._k = k + 1
            return 0
        # the parity octet completes the block
        self._k = 0
        if self._tail and b == _TAIL_LAST:
            return self._end(END_TAIL)
        syn = (((~self._r) ^ b) & 0xFE) >> 1
        self._r = 0
        self._tail = 1
        if self._pos + INFO_LEN > self._cap:
            return self._end(END_OVERFLOW)
        if syn:
            e = _SYNDROME[syn]
            if e == _UNCORRECTABLE or not self.correct:
                self.rejected_blocks += 1
                return self._end(END_UNCORRECTABLE)
            if e < 56:
                p = self._pos + (e >> 3)
                self.frame[p] ^= 0x80 >> (e & 7)
            self.corrected_blocks += 1
        self.blocks += 1
        self._pos += INFO_LEN
        return 0

    def feed_buf(self, buf, start=0, end=-1):
        """Feed ``buf[start:end]`` until a candidate frame completes; return the index
        of the first octet not consumed.  ``self.frame_len`` is the candidate's length,
        or 0 when the buffer ran out first."""
        if end < 0:
            end = len(buf)
        self.frame_len = 0
        i = start
        while i < end:
            n = self.feed(buf[i])
            i += 1
            if n:
                break
        return i

    def _end(self, reason):
        self._state = _SEARCH
        self._prev = 0
        self.end_reason = reason
        n = self._pos
        if n >= 4:
            flen = ((self.frame[2] & 0x03) << 8 | self.frame[3]) + 1
            if flen <= n:
                self.frame_len = flen
                self.frames += 1
                return flen
        self.incomplete += 1
        self.frame_len = 0
        return 0
