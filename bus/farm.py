"""FARM-1, the on-board half of COP-1 (CCSDS 232.1-B-2 §6).

One ``Farm1`` per TC virtual channel.  It takes frames that ``TcFrameReader``
has already validated (the standard's "valid frame"), decides whether each is
accepted, keeps V(R), the sliding window and the flags that the CLCW reports,
and allocates nothing per frame: an accepted frame's data stays where the
reader found it (``reader.data_offset``, ``reader.data_len`` in the caller's
buffer) and ``process`` says what happened through its return code.

States (§6.2): OPEN (S1), WAIT (S2: no buffer for the next Type-AD frame),
LOCKOUT (S3: a Type-AD frame fell outside the window).  The sliding window of
width W (even, 2..254) splits into a positive window PW = W/2 and a negative
window NW = W/2 (§6.1.8.2).  With d = (N(S) - V(R)) mod 256, a Type-AD frame is

    d == 0                 E1/E2: the expected frame (accepted if a buffer is free)
    1 <= d <= PW - 1       E3: positive window, frames were lost: Retransmit := 1
    256 - NW <= d <= 255   E4: negative window, a repeat of an accepted frame
    otherwise              E5: lockout area: Lockout := 1, state LOCKOUT

State table implemented (232.1-B-2 Table 6-1; "-" keeps the state)::

    event                         OPEN                 WAIT                  LOCKOUT
    E1 AD, N(S)=V(R), buffer      accept, V(R)+1,      (cannot happen)       discard
                                  Retransmit := 0
    E2 AD, N(S)=V(R), no buffer   discard, Retransmit, discard               discard
                                  Wait := 1 -> WAIT
    E3 AD, positive window        discard,             discard               discard
                                  Retransmit := 1
    E4 AD, negative window        discard              discard               discard
    E5 AD, lockout area           discard, Lockout     discard, Lockout      discard
                                  -> LOCKOUT           -> LOCKOUT
    E6 BD                         accept, FARM-B+1     accept, FARM-B+1      accept, FARM-B+1
    E7 BC Unlock                  FARM-B+1,            FARM-B+1, Wait := 0,  FARM-B+1, Wait := 0,
                                  Retransmit := 0      Retransmit := 0       Retransmit := 0,
                                                       -> OPEN               Lockout := 0 -> OPEN
    E8 BC Set V(R)                FARM-B+1, V(R):=N,   FARM-B+1, V(R):=N,    FARM-B+1
                                  Retransmit := 0      Retransmit := 0,
                                                       Wait := 0 -> OPEN
    E10 buffer release            -                    Wait := 0 -> OPEN     Wait := 0

E9 (invalid frame) is the reader's rejection: the FARM never sees the frame.

Buffer model: the higher layer can hold ``buffer_frames`` accepted Type-AD
frames; each accepted Type-AD frame takes one, and ``buffer_released()`` (the
standard's "buffer release signal") gives one back once the higher layer has
taken the frame's data.  A Type-AD frame arriving with no free buffer is E2.
Type-BD frames bypass the buffer accounting (§6.1.5: BD frames go to the
higher layer regardless of FARM state).
"""

from bus.clcw import pack_clcw
from bus.compat import const
from bus.tc_frame import BC_SET_VR, BC_UNLOCK, FRAME_AD, FRAME_BD, FRAME_BC

# States (232.1-B-2 §6.2)
OPEN = const(1)  # S1
WAIT = const(2)  # S2
LOCKOUT = const(3)  # S3
STATE_NAMES = ("", "open", "wait", "lockout")

# process() results.  Below DISCARD_BASE: the frame was acted upon; from
# DISCARD_BASE: discarded, and counted in ``discarded[code - DISCARD_BASE]``.
ACCEPT_AD = const(1)  # Type-AD accepted: deliver reader.data_offset/data_len
ACCEPT_BD = const(2)  # Type-BD accepted: deliver reader.data_offset/data_len
BC_UNLOCK_DONE = const(3)  # Unlock executed
BC_SET_VR_DONE = const(4)  # Set V(R) executed (or only counted in LOCKOUT)
DISCARD_BASE = const(16)
DISCARD_NO_BUFFER = const(16)  # E2: expected N(S) but no buffer (Wait)
DISCARD_AHEAD = const(17)  # E3: N(S) in the positive window (frames lost)
DISCARD_DUPLICATE = const(18)  # E4: N(S) in the negative window (already accepted)
DISCARD_OUT_OF_WINDOW = const(19)  # E5: N(S) in the lockout area: enter LOCKOUT
DISCARD_LOCKED_OUT = const(20)  # any Type-AD frame while in LOCKOUT
DISCARD_VCID = const(21)  # frame of another virtual channel
DISCARD_INVALID = const(22)  # frame type or control command not understood
N_DISCARDS = const(7)
DISCARD_NAMES = ("no_buffer", "ahead", "duplicate", "out_of_window", "locked_out", "vcid", "invalid")

# W.  The FOP's window K (default 10) must not exceed PW = W/2, nor NW = W/2:
# frames outstanding at the FOP have N(S) within NN(R) .. NN(R) + K - 1 and
# NN(R) <= V(R) <= NN(R) + K, so with K <= PW a lost or reordered frame never
# puts its successors into the lockout area, and with K <= NW a repeated frame
# (not held back longer than a window's worth of traffic) is a mere duplicate.
# With W = 10 and K = 10, one lost frame locks the FARM out (tests/flight/bus/
# test_fop.py shows it).  Hence W = 2K = 20.
DEFAULT_WINDOW = const(20)


class Farm1:
    """FARM-1 for one virtual channel.

    ``vcid``: the TC virtual channel; ``window_width``: W, even, 2..254, at
    least twice the FOP's K (see DEFAULT_WINDOW);
    ``buffer_frames``: Type-AD frames the higher layer can hold before it must
    call ``buffer_released()``.
    """

    def __init__(self, vcid, window_width=DEFAULT_WINDOW, buffer_frames=1):
        if not 0 <= vcid <= 0x3F:
            raise ValueError("vcid %d outside 0..63" % vcid)
        if buffer_frames < 1:
            raise ValueError("buffer_frames %d must be >= 1" % buffer_frames)
        self.vcid = vcid
        self.buffer_frames = buffer_frames  # capacity of the higher layer's buffer (frames)
        self.pw = 0  # positive window PW = W/2
        self.nw = 0  # negative window NW = W/2
        self.set_window(window_width)
        self.state = OPEN  # OPEN, WAIT or LOCKOUT
        self.vr = 0  # V(R): N(S) of the next expected Type-AD frame
        self.lockout = 0  # CLCW Lockout flag
        self.wait = 0  # CLCW Wait flag
        self.retransmit = 0  # CLCW Retransmit flag
        self.farm_b_counter = 0  # accepted Type-B frames (the CLCW carries the 2 low bits)
        self.free_buffers = buffer_frames  # Type-AD frames the higher layer can still take
        self.accepted_ad = 0  # Type-AD frames accepted
        self.accepted_bd = 0  # Type-BD frames accepted
        self.bc_executed = 0  # Unlock and Set V(R) commands acted upon
        self.discarded = [0] * N_DISCARDS  # count per DISCARD_* code (index code - DISCARD_BASE)

    def set_window(self, window_width):
        """Set W (FARM_Sliding_Window_Width): even, 2..254."""
        if window_width & 1 or not 2 <= window_width <= 254:
            raise ValueError("window width %d must be even and within 2..254" % window_width)
        self.window_width = window_width
        self.pw = window_width >> 1
        self.nw = window_width >> 1

    def process(self, frame):
        """Run the state table for a frame that ``frame`` (a TcFrameReader) accepted.

        Returns ACCEPT_AD / ACCEPT_BD (deliver the data), BC_UNLOCK_DONE /
        BC_SET_VR_DONE, or a DISCARD_* code (also counted).
        """
        if frame.vcid != self.vcid:
            return self._discard(DISCARD_VCID)
        t = frame.frame_type
        if t == FRAME_AD:
            return self._type_ad(frame.seq)
        if t == FRAME_BD:  # E6
            self.farm_b_counter += 1
            self.accepted_bd += 1
            return ACCEPT_BD
        if t == FRAME_BC:
            c = frame.bc_command
            if c == BC_UNLOCK:  # E7
                self.farm_b_counter += 1
                self.bc_executed += 1
                self.retransmit = 0
                if self.state != OPEN:
                    self.wait = 0
                    self.lockout = 0
                    self.state = OPEN
                return BC_UNLOCK_DONE
            if c == BC_SET_VR:  # E8
                self.farm_b_counter += 1
                self.bc_executed += 1
                if self.state != LOCKOUT:
                    self.retransmit = 0
                    self.wait = 0
                    self.vr = frame.bc_vr
                    self.state = OPEN
                return BC_SET_VR_DONE
        return self._discard(DISCARD_INVALID)

    def _type_ad(self, ns):
        state = self.state
        if state == LOCKOUT:
            return self._discard(DISCARD_LOCKED_OUT)
        d = (ns - self.vr) & 0xFF
        if d == 0:
            if state == OPEN and self.free_buffers > 0:  # E1
                self.vr = (self.vr + 1) & 0xFF
                self.retransmit = 0
                self.free_buffers -= 1
                self.accepted_ad += 1
                return ACCEPT_AD
            # E2
            if state == OPEN:
                self.retransmit = 1
                self.wait = 1
                self.state = WAIT
            return self._discard(DISCARD_NO_BUFFER)
        if d < self.pw:  # E3: 1 <= d <= PW - 1
            if state == OPEN:
                self.retransmit = 1
            return self._discard(DISCARD_AHEAD)
        if d >= 256 - self.nw:  # E4
            return self._discard(DISCARD_DUPLICATE)
        # E5
        self.lockout = 1
        self.state = LOCKOUT
        return self._discard(DISCARD_OUT_OF_WINDOW)

    def _discard(self, code):
        self.discarded[code - DISCARD_BASE] += 1
        return code

    def buffer_released(self):
        """E10: the higher layer has taken one accepted Type-AD frame's data."""
        if self.free_buffers < self.buffer_frames:
            self.free_buffers += 1
        if self.state == WAIT:
            self.wait = 0
            self.state = OPEN
        elif self.state == LOCKOUT:
            self.wait = 0

    def clcw(self, no_rf=0, no_bit_lock=0):
        """The CLCW reporting this FARM now (an int; allocates nothing)."""
        return pack_clcw(self.vcid, self.vr, self.lockout, self.wait, self.retransmit,
                         self.farm_b_counter, no_rf, no_bit_lock)

    def reset_counters(self):
        self.accepted_ad = 0
        self.accepted_bd = 0
        self.bc_executed = 0
        i = 0
        while i < N_DISCARDS:
            self.discarded[i] = 0
            i += 1
