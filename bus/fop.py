"""FOP-1, the ground half of COP-1 (CCSDS 232.1-B-2 §5).

Written in the MicroPython subset so that it lives beside the FARM in bus/;
it runs on the ground, so it may allocate (lists, bytes).  Time is passed in:
every method that can start or test the timer T1 takes ``now_ms`` (a
monotonic millisecond count, not a wrapping tick); there is no wall clock.

States (§5.1.2)::

    ACTIVE                        S1  AD service running
    RETRANSMIT_WITHOUT_WAIT       S2  retransmitting, the FARM has buffer space
    RETRANSMIT_WITH_WAIT          S3  retransmission wanted, the FARM reports Wait
    INITIALISING_WITHOUT_BC       S4  waiting for a CLCW confirming V(R) = V(S)
    INITIALISING_WITH_BC          S5  a Type-BC frame (Unlock or Set V(R)) is outstanding
    INITIAL                       S6  AD service not running

Variables (§5.1.3): V(S) the N(S) of the next new Type-AD frame; NN(R) the
expected acknowledgement (oldest unacknowledged N(S)); the sent queue (frames
sent, not yet acknowledged, each with its "to be retransmitted" flag); the wait
queue (at most one FDU waiting for the window); Transmission_Count and
Transmission_Limit; T1; the FOP sliding window K; Timeout_Type TT (0: alert
when the limit is reached at T1 expiry; 1: suspend); Suspend_State SS.

CLCW events (Table 5-1, Lockout = 0 and a valid N(R) unless stated;
R = Retransmit, W = Wait; "-" = ignore)::

    event  condition                          S1          S2          S3          S4        S5        S6
    E1     N(R)=V(S) R=0 W=0 N(R)=NN(R)       -           alert SYNCH alert SYNCH ->S1      ->S1 (1)  -
    E2     N(R)=V(S) R=0 W=0 N(R)!=NN(R)      ack ->S1    ack ->S1    ack ->S1    ->S1 (2)  ->S1 (2)  -
    E3     N(R)=V(S) R=0 W=1                  alert CLCW  alert CLCW  alert CLCW  alert     alert     -
    E4     N(R)=V(S) R=1                      alert SYNCH alert SYNCH alert SYNCH alert     -         -
    E5     N(R)<V(S) R=0 W=0 N(R)=NN(R)       -           alert SYNCH alert SYNCH -         -         -
    E6     N(R)<V(S) R=0 W=0 N(R)!=NN(R)      ack ->S1    ack ->S1    ack ->S1    -         -         -
    E7     N(R)<V(S) R=0 W=1                  alert CLCW  alert CLCW  alert CLCW  -         -         -
    E101   R=1 limit=1 N(R)!=NN(R)            ack, alert LIMIT (S1..S3)           -         -         -
    E102   R=1 limit=1 N(R)=NN(R)             alert LIMIT (S1..S3)                -         -         -
    E8     R=1 N(R)!=NN(R) W=0                ack, retransmit ->S2 (S1..S3)       -         -         -
    E9     R=1 N(R)!=NN(R) W=1                ack ->S3 (S1..S3)                   -         -         -
    E10    R=1 N(R)=NN(R) count<limit W=0     retx ->S2   -           retx ->S2   -         -         -
    E11    R=1 N(R)=NN(R) count<limit W=1     ->S3        ->S3        -           -         -         -
    E12    R=1 N(R)=NN(R) count>=limit W=0    ->S2        -           ->S2        -         -         -
    E103   R=1 N(R)=NN(R) count>=limit W=1    ->S3        ->S3        -           -         -         -
    E13    N(R) invalid                       alert NN(R) (S1..S4)                          -         -
    E14    Lockout = 1                        alert LOCKOUT (S1..S4)                        -         -

    (1) release the copy of the BC frame, cancel T1.  (2) see "Simplifications".
    ack = remove acknowledged frames from the sent queue (and, with all
    acknowledged, cancel T1), then look for an FDU; retx = initiate AD
    retransmission and look for an FDU.

T1 expiry: Transmission_Count < limit: S1/S2 retransmit -> S2, S3 ignore, S4
alert T1 (TT=0) or suspend (TT=1), S5 retransmit the BC frame.  Count at the
limit: alert T1 (TT=0) or suspend (TT=1; S5 always alerts).

Directives: ``initiate_ad`` (without CLCW check, with CLCW check, with Unlock,
with Set V(R)) from S6 only; ``terminate``; ``resume`` (after a suspend);
``set_vs`` (S6, not suspended); ``set_window`` (K), ``set_t1``,
``set_transmission_limit``, ``set_timeout_type`` in any state.  An alert
cancels T1, purges both queues, records its reason in ``alerts`` (and calls
``on_alert``) and returns to S6.

Simplifications (documented departures):
- The lower layer is always ready: frames go at once to ``send`` (or the
  ``outbox`` list), so "AD_Out/BC_Out not ready", the lower-layer accept and
  reject responses and "Abort" do not arise.  Retransmissions of all flagged
  frames go out in one "look for FDU" pass.
- Requests get their answer at once: ``transmit_ad`` returns AD_SENT, AD_QUEUED
  (in the wait queue until the window opens) or AD_REJECTED; no separate
  positive/negative confirm is delivered per FDU.  Directives return
  DIRECTIVE_ACCEPTED or DIRECTIVE_REJECTED; initialisation's completion shows
  as ``state == ACTIVE``.
- (2) E2 in S4/S5 is "not applicable" in the standard; here it completes the
  initialisation like E1 and sets NN(R) := N(R) (it arises when frames purged
  by an alert were in fact received).  Other not-applicable cells are ignored.
- CLCWs of another VC or without COP-1 in effect are ignored and counted in
  ``clcw_ignored``.
"""

from bus import clcw as _clcw
from bus.compat import const
from bus.tc_frame import (
    FRAME_AD, FRAME_BC, FRAME_BD, MAX_DATA_LEN, UNLOCK, pack_tc_frame_into, set_vr_command,
)

ACTIVE = const(1)
RETRANSMIT_WITHOUT_WAIT = const(2)
RETRANSMIT_WITH_WAIT = const(3)
INITIALISING_WITHOUT_BC = const(4)
INITIALISING_WITH_BC = const(5)
INITIAL = const(6)
STATE_NAMES = ("", "active", "retransmit_without_wait", "retransmit_with_wait",
               "initialising_without_bc", "initialising_with_bc", "initial")

# initiate_ad modes (232.1-B-2 §5.2.2.2 directives)
INIT_WITHOUT_CLCW = const(1)  # E23: start at once
INIT_WITH_CLCW = const(2)  # E24: wait for a CLCW with N(R) = V(S)
INIT_WITH_UNLOCK = const(3)  # E27: send Unlock, wait for its CLCW
INIT_WITH_SET_VR = const(4)  # E25: V(S) := NN(R) := V*(R), send Set V(R), wait for its CLCW

# Request and directive answers
AD_SENT = const(1)  # the frame was transmitted
AD_QUEUED = const(2)  # in the wait queue: goes out when the window opens
AD_REJECTED = const(3)  # wait queue full, or the AD service is not running
BD_SENT = const(1)
DIRECTIVE_ACCEPTED = const(1)
DIRECTIVE_REJECTED = const(0)

# Alert reasons (§5.1.9): code and words for the operator
ALERT_SYNCH = "SYNCH"
ALERT_CLCW = "CLCW"
ALERT_LIMIT = "LIMIT"
ALERT_T1 = "T1"
ALERT_NNR = "NN(R)"
ALERT_LOCKOUT = "LOCKOUT"
ALERT_TERM = "TERM"
ALERT_TEXT = {
    ALERT_SYNCH: "CLCW inconsistent with the frames sent (FOP and FARM out of step)",
    ALERT_CLCW: "CLCW reports Wait or a state the FOP cannot be in",
    ALERT_LIMIT: "FARM asked for a retransmission beyond the transmission limit",
    ALERT_T1: "timer T1 expired with the transmission limit reached",
    ALERT_NNR: "CLCW report value N(R) acknowledges frames never sent",
    ALERT_LOCKOUT: "FARM-1 is in Lockout",
    ALERT_TERM: "AD service terminated by directive",
}

DEFAULT_T1_MS = const(2000)
DEFAULT_TRANSMISSION_LIMIT = const(3)
DEFAULT_WINDOW = const(10)  # K

# sent queue entry fields
_NS = const(0)
_FRAME = const(1)
_RT = const(2)  # 1: to be retransmitted
_BC = const(3)  # 1: the Type-BC frame


class Fop1:
    """FOP-1 for one TC virtual channel (ground).

    ``send(frame_bytes)`` transmits a frame; when ``send`` is None frames are
    appended to ``self.outbox``.  ``on_alert(reason)`` (optional) hears alerts.
    """

    def __init__(self, scid, vcid, send=None, map_id=0, window=DEFAULT_WINDOW, t1_ms=DEFAULT_T1_MS,
                 transmission_limit=DEFAULT_TRANSMISSION_LIMIT, timeout_type=0, on_alert=None):
        self.scid = scid
        self.vcid = vcid
        self.map_id = map_id  # MAP id of the segment header of Type-D frames
        self.outbox = []  # frames sent when no send callback is given
        self._send = send if send is not None else self.outbox.append
        self.on_alert = on_alert
        self.state = INITIAL
        self.vs = 0  # V(S)
        self.nnr = 0  # NN(R)
        self.sent_queue = []  # [N(S), frame bytes, to-be-retransmitted, is-BC]
        self.wait_queue = None  # the one FDU waiting for the window, or None
        self.window = DEFAULT_WINDOW  # K
        self.t1_ms = DEFAULT_T1_MS
        self.transmission_limit = DEFAULT_TRANSMISSION_LIMIT
        self.timeout_type = 0  # TT: 0 alert, 1 suspend at T1 expiry with the limit reached
        self.set_window(window)
        self.set_t1(t1_ms)
        self.set_transmission_limit(transmission_limit)
        self.set_timeout_type(timeout_type)
        self.transmission_count = 0
        self.suspend_state = 0  # SS: the state suspended from (0: not suspended)
        self._timer_start = None  # now_ms when T1 was started; None: not running
        self._now = 0  # now_ms of the call being processed
        self.alerts = []  # alert reason codes, oldest first
        self.frames_sent = 0  # AD, BD and BC frames passed to send (retransmissions included)
        self.retransmissions = 0  # frames sent again
        self.clcw_ignored = 0  # CLCWs of another VC or without COP-1

    # -- configuration directives (any state) ---------------------------------------------
    def set_window(self, k):
        if not 1 <= k <= 255:
            raise ValueError("FOP sliding window %d outside 1..255" % k)
        self.window = k
        return DIRECTIVE_ACCEPTED

    def set_t1(self, t1_ms):
        if t1_ms <= 0:
            raise ValueError("T1 %d ms must be positive" % t1_ms)
        self.t1_ms = t1_ms
        return DIRECTIVE_ACCEPTED

    def set_transmission_limit(self, limit):
        if not 1 <= limit <= 255:
            raise ValueError("transmission limit %d outside 1..255" % limit)
        self.transmission_limit = limit
        return DIRECTIVE_ACCEPTED

    def set_timeout_type(self, tt):
        if tt not in (0, 1):
            raise ValueError("timeout type %d is not 0 or 1" % tt)
        self.timeout_type = tt
        return DIRECTIVE_ACCEPTED

    # -- service directives ------------------------------------------------------------------
    def initiate_ad(self, now_ms, mode=INIT_WITHOUT_CLCW, vr=0):
        """Start the AD service (from INITIAL only); see the INIT_* modes."""
        self._now = now_ms
        if self.state != INITIAL:
            return DIRECTIVE_REJECTED
        if mode == INIT_WITHOUT_CLCW:
            self._initialise()
            self.state = ACTIVE
        elif mode == INIT_WITH_CLCW:
            self._initialise()
            self._start_timer()
            self.state = INITIALISING_WITHOUT_BC
        elif mode == INIT_WITH_UNLOCK:
            self._initialise()
            self._transmit_bc(UNLOCK)
            self.state = INITIALISING_WITH_BC
        elif mode == INIT_WITH_SET_VR:
            cmd = set_vr_command(vr)
            self._initialise()
            self.vs = vr
            self.nnr = vr
            self._transmit_bc(cmd)
            self.state = INITIALISING_WITH_BC
        else:
            raise ValueError("initiate_ad mode %d unknown" % mode)
        return DIRECTIVE_ACCEPTED

    def terminate(self, now_ms):
        """Stop the AD service (E29): alert TERM unless already INITIAL."""
        self._now = now_ms
        if self.state != INITIAL:
            self._alert(ALERT_TERM)
        self.suspend_state = 0
        return DIRECTIVE_ACCEPTED

    def resume(self, now_ms):
        """Resume after a suspend (E30..E34): back to the suspended state, T1 restarted."""
        self._now = now_ms
        if self.state != INITIAL or self.suspend_state == 0:
            return DIRECTIVE_REJECTED
        self.state = self.suspend_state
        self.suspend_state = 0
        self._start_timer()
        return DIRECTIVE_ACCEPTED

    def set_vs(self, vs):
        """Set V(S) and NN(R) (E35): only in INITIAL and not suspended."""
        if self.state != INITIAL or self.suspend_state:
            return DIRECTIVE_REJECTED
        if not 0 <= vs <= 255:
            raise ValueError("V(S) %d outside 0..255" % vs)
        self.vs = vs
        self.nnr = vs
        return DIRECTIVE_ACCEPTED

    # -- requests ----------------------------------------------------------------------------
    def transmit_ad(self, data, now_ms):
        """Request a Type-AD frame carrying ``data`` (E19/E20)."""
        self._now = now_ms
        if len(data) == 0 or len(data) > MAX_DATA_LEN:
            raise ValueError("AD data of %d octets outside 1..%d" % (len(data), MAX_DATA_LEN))
        s = self.state
        if s > RETRANSMIT_WITH_WAIT or self.wait_queue is not None:
            return AD_REJECTED
        self.wait_queue = bytes(data)
        if s != RETRANSMIT_WITH_WAIT:
            self._look_for_fdu()
        return AD_QUEUED if self.wait_queue is not None else AD_SENT

    def transmit_bd(self, data, now_ms=0):
        """Send a Type-BD frame carrying ``data`` at once (E21), in any state."""
        self._now = now_ms
        if len(data) == 0 or len(data) > MAX_DATA_LEN:
            raise ValueError("BD data of %d octets outside 1..%d" % (len(data), MAX_DATA_LEN))
        self._out(self._frame(FRAME_BD, 0, data))
        return BD_SENT

    # -- events ------------------------------------------------------------------------------
    def tick(self, now_ms):
        """Let time pass: T1 expiry (E16..E18, E104) is detected here."""
        self._now = now_ms
        if self._timer_start is None or now_ms - self._timer_start < self.t1_ms:
            return
        self._timer_start = None
        s = self.state
        if s == INITIAL:
            return
        tt = self.timeout_type
        if self.transmission_count < self.transmission_limit:  # E16 (TT=0) / E104 (TT=1)
            if s == ACTIVE or s == RETRANSMIT_WITHOUT_WAIT:
                self._initiate_ad_retransmission()
                self._look_for_fdu()
                self.state = RETRANSMIT_WITHOUT_WAIT
            elif s == INITIALISING_WITHOUT_BC:
                if tt:
                    self._suspend()
                else:
                    self._alert(ALERT_T1)
            elif s == INITIALISING_WITH_BC:
                self._initiate_bc_retransmission()
                self._look_for_directive()
            # S3: ignore
        else:  # E17 (TT=0) / E18 (TT=1)
            if tt and s != INITIALISING_WITH_BC:
                self._suspend()
            else:
                self._alert(ALERT_T1)

    def clcw(self, word, now_ms):
        """Process a CLCW received in a TM frame's OCF."""
        self._now = now_ms
        if not _clcw.is_cop1_clcw(word) or _clcw.vcid(word) != self.vcid:
            self.clcw_ignored += 1
            return
        s = self.state
        if s == INITIAL:
            return
        if _clcw.lockout(word):  # E14
            if s != INITIALISING_WITH_BC:
                self._alert(ALERT_LOCKOUT)
            return
        nr = _clcw.report_value(word)
        if (nr - self.nnr) & 0xFF > (self.vs - self.nnr) & 0xFF:  # E13
            if s != INITIALISING_WITH_BC:
                self._alert(ALERT_NNR)
            return
        r = _clcw.retransmit(word)
        w = _clcw.wait(word)
        if nr == self.vs:
            if r:  # E4
                if s != INITIALISING_WITH_BC:
                    self._alert(ALERT_SYNCH)
            elif w:  # E3
                self._alert(ALERT_CLCW)
            elif s == INITIALISING_WITHOUT_BC or s == INITIALISING_WITH_BC:  # E1 (E2)
                if s == INITIALISING_WITH_BC:
                    self._release_bc()
                self.nnr = nr
                self._cancel_timer()
                self.state = ACTIVE
            elif nr == self.nnr:  # E1
                if s != ACTIVE:
                    self._alert(ALERT_SYNCH)
            else:  # E2
                self._remove_acknowledged(nr)
                self._cancel_timer()
                self.state = ACTIVE
                self._look_for_fdu()
            return
        if s >= INITIALISING_WITHOUT_BC:
            return  # N(R) < V(S) while initialising: not applicable, ignored
        if not r:
            if w:  # E7
                self._alert(ALERT_CLCW)
            elif nr == self.nnr:  # E5
                if s != ACTIVE:
                    self._alert(ALERT_SYNCH)
            else:  # E6
                self._remove_acknowledged(nr)
                self.state = ACTIVE
                self._look_for_fdu()
            return
        if self.transmission_limit == 1:  # E101 / E102
            if nr != self.nnr:
                self._remove_acknowledged(nr)
            self._alert(ALERT_LIMIT)
            return
        if nr != self.nnr:
            self._remove_acknowledged(nr)
            if w:  # E9
                self.state = RETRANSMIT_WITH_WAIT
            else:  # E8
                self._initiate_ad_retransmission()
                self.state = RETRANSMIT_WITHOUT_WAIT
                self._look_for_fdu()
            return
        if self.transmission_count < self.transmission_limit:
            if w:  # E11
                self.state = RETRANSMIT_WITH_WAIT
            elif s != RETRANSMIT_WITHOUT_WAIT:  # E10
                self._initiate_ad_retransmission()
                self.state = RETRANSMIT_WITHOUT_WAIT
                self._look_for_fdu()
        else:
            if w:  # E103
                self.state = RETRANSMIT_WITH_WAIT
            else:  # E12
                self.state = RETRANSMIT_WITHOUT_WAIT

    # -- actions (§5.2.x) --------------------------------------------------------------------
    def _frame(self, ftype, seq, data):
        buf = bytearray(8 + len(data))
        n = pack_tc_frame_into(buf, self.scid, self.vcid, ftype, seq, data, self.map_id)
        return bytes(buf[:n])

    def _out(self, frame):
        self.frames_sent += 1
        self._send(frame)

    def _start_timer(self):
        self._timer_start = self._now

    def _cancel_timer(self):
        self._timer_start = None

    @property
    def timer_running(self):
        return self._timer_start is not None

    def _initialise(self):
        self.sent_queue = []
        self.wait_queue = None
        self.transmission_count = 1
        self.suspend_state = 0
        self._cancel_timer()

    def _alert(self, reason):
        self._cancel_timer()
        self.sent_queue = []
        self.wait_queue = None
        self.state = INITIAL
        self.alerts.append(reason)
        if self.on_alert is not None:
            self.on_alert(reason)

    def _suspend(self):
        self.suspend_state = self.state
        self.state = INITIAL

    def _transmit_ad(self, data):
        frame = self._frame(FRAME_AD, self.vs, data)
        if not self.sent_queue:
            self.transmission_count = 1
        self.sent_queue.append([self.vs, frame, 0, 0])
        self.vs = (self.vs + 1) & 0xFF
        self._start_timer()
        self._out(frame)

    def _transmit_bc(self, command):
        frame = self._frame(FRAME_BC, 0, command)
        self.transmission_count = 1
        self.sent_queue.append([0, frame, 0, 1])
        self._start_timer()
        self._out(frame)

    def _look_for_fdu(self):
        for e in self.sent_queue:
            if e[_RT] and not e[_BC]:
                e[_RT] = 0
                self.retransmissions += 1
                self._out(e[_FRAME])
        if self.wait_queue is not None and (self.vs - self.nnr) & 0xFF < self.window:
            data = self.wait_queue
            self.wait_queue = None
            self._transmit_ad(data)

    def _look_for_directive(self):
        for e in self.sent_queue:
            if e[_RT] and e[_BC]:
                e[_RT] = 0
                self.retransmissions += 1
                self._out(e[_FRAME])

    def _initiate_ad_retransmission(self):
        self.transmission_count += 1
        self._start_timer()
        for e in self.sent_queue:
            if not e[_BC]:
                e[_RT] = 1

    def _initiate_bc_retransmission(self):
        self.transmission_count += 1
        self._start_timer()
        for e in self.sent_queue:
            if e[_BC]:
                e[_RT] = 1

    def _release_bc(self):
        self.sent_queue = [e for e in self.sent_queue if not e[_BC]]

    def _remove_acknowledged(self, nr):
        k = (nr - self.nnr) & 0xFF
        q = self.sent_queue
        i = 0
        while i < len(q) and k:
            if not q[i][_BC]:
                k -= 1
            i += 1
        del q[:i]
        self.nnr = nr
        self.transmission_count = 1
        if not q:
            self._cancel_timer()
