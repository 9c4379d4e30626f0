"""On-board fault detection, isolation and recovery: monitors with persistence (MicroPython subset).

Each monitor (bus/mdb.py ``FDIR_MONITORS`` declares their IDs and meaning) samples
one flight quantity at its rate and counts consecutive out-of-limit samples; when
the count reaches the monitor's persistence it *trips*: EV_FDIR_TRIP (monitor,
measured value, action) goes down and the monitor's declared action runs at once.
When the quantity has been back in limits for the clear persistence the monitor
clears (EV_FDIR_CLEAR) and, where one is declared, its recovery runs.  The actions
and recoveries are those of docs/fdir.md:

==============  =====================================  ============================================
monitor         trips when (persistence)               action / recovery
==============  =====================================  ============================================
SRC_INTERLOCK   any source interlock open (1 sample)   the interlock has cut the pump already;
                                                       recovery: 10 s after they all close, OFF
                                                       then WARMUP if the source was operating
THERMAL_CTRL    TEC drive saturated, crystal error     source OFF (a failed heater is not driven);
                > 200 mK and not shrinking 20 mK in    recovery: WARMUP again after 30 s
                5 s (2 windows)
PUMP_HEADROOM   power loop's current pinned at its     power target derated to 90 % of the power
                ceiling, 95 % of the interlock (3 s)   delivered (degraded, kept)
MIRROR_SAT_b    fine loop command within 10 % of the   beam b leaves fine track (LOST: the mirror
                travel limit, in fine track (3 x 10 ms) back to null, the gimbal takes the motion)
MIRROR_STUCK_b  mirror position > 20 urad from its     beam b leaves fine track; re-acquired when
                command, loop closed (5 x 10 ms)       the mirror follows again
BEACON_b        beam b LOST (1 x 10 ms)                none: the APT re-acquires (report)
WHEEL           a wheel's speed moved > 2 % in 1 s     none: the canceller follows the tachometer
CLOCK           fine group skipped more releases in    on-board time corrected by the jump: a real
                0.1 s than the watchdog allows         stall that long would have reset the board
LINK_SILENT     no telecommand for 30 s while a beam   none on board: data go on into the packet
                is active                              store; the ground plays them back
==============  =====================================  ============================================

Source recoveries are limited to ``max_restarts`` since the last FDIR_ENABLE, so a
permanent fault ends in a safe OFF (EV_FDIR_GAVE_UP) instead of a loop.
``enabled`` False (FDIR_ENABLE 255 0) stops every monitor: the campaign's control
run (``qsat faults --no-monitors``).  Sampling allocates nothing.
"""

from array import array

from bus import mdb
from bus.compat import const
from hal.interface import SteeringMirror
from payload import apt_beam, source_modes

# monitor IDs (bus/mdb.py FDIR_MONITORS)
M_SRC_INTERLOCK = const(1)
M_THERMAL_CTRL = const(2)
M_PUMP_HEADROOM = const(3)
M_MIRROR_SAT_0 = const(4)
M_MIRROR_SAT_1 = const(5)
M_MIRROR_STUCK_0 = const(6)
M_MIRROR_STUCK_1 = const(7)
M_BEACON_0 = const(8)
M_BEACON_1 = const(9)
M_WHEEL = const(10)
M_CLOCK = const(11)
M_LINK_SILENT = const(12)
N_MONITORS = const(13)  # IDs 1..12; 0 unused
ALL = const(255)

# actions (EV_FDIR_TRIP action, EV_FDIR_RECOVERY action)
A_REPORT = const(0)
A_SOURCE_OFF = const(1)
A_LEAVE_FINE = const(2)
A_DERATE_PUMP = const(3)
A_TIME_CORRECT = const(4)
A_SOURCE_RESTART = const(5)

_DRIVE_ZERO = const(32768)
_DRIVE_SATURATED = const(32000)  # |drive - zero| at or beyond this: the TEC is at full power


class Monitor:
    """Persistence bookkeeping of one monitor."""

    def __init__(self, mid, persist, clear_persist):
        self.mid = mid
        self.persist = persist  # consecutive bad samples to trip
        self.clear_persist = clear_persist  # consecutive good samples to clear
        self.enabled = True  # FDIR_ENABLE of this monitor alone
        self.bad = 0
        self.good = 0
        self.tripped = False
        self.trips = 0

    def sample(self, out_of_limits):
        """One sample; returns 1 on the sample that trips, -1 on the one that clears, else 0."""
        if out_of_limits:
            self.good = 0
            if not self.tripped:
                self.bad += 1
                if self.bad >= self.persist:
                    self.tripped = True
                    self.trips += 1
                    self.bad = 0
                    return 1
            return 0
        self.bad = 0
        if self.tripped:
            self.good += 1
            if self.good >= self.clear_persist:
                self.tripped = False
                self.good = 0
                return -1
        return 0

    def reset(self):
        self.bad = 0
        self.good = 0
        self.tripped = False


class Fdir:
    """The monitors over the applications' objects; ``step_10hz`` and ``step_100hz`` sample them."""

    def __init__(self, events, source, beams, apt, wheels, fine_group, flight_time, link,
                 fine_period_us, watchdog_timeout_ms):
        self._events = events
        self._source = source  # payload.apps.SourceApp
        self._beams = beams  # FinePointingLoop per beam
        self._apt = apt  # BeamPointing per beam
        self._wheels = wheels  # payload.vib_canceller.WheelPhases
        self._fine = fine_group  # the fine rate group (slips)
        self._time = flight_time
        self.link = link  # payload.link.LinkStack (set once it exists)
        self.enabled = True
        self.tables = None  # payload.param_store.ParameterStore: its RAM scrub is a monitor too
        self.m = [None] * N_MONITORS
        for mid, persist, clear in ((M_SRC_INTERLOCK, 1, 100), (M_THERMAL_CTRL, 2, 1), (M_PUMP_HEADROOM, 30, 30),
                                    (M_MIRROR_SAT_0, 3, 100), (M_MIRROR_SAT_1, 3, 100),
                                    (M_MIRROR_STUCK_0, 5, 100), (M_MIRROR_STUCK_1, 5, 100),
                                    (M_BEACON_0, 1, 100), (M_BEACON_1, 1, 100), (M_WHEEL, 1, 10),
                                    (M_CLOCK, 1, 1), (M_LINK_SILENT, 1, 1)):
            self.m[mid] = Monitor(mid, persist, clear)
        self.max_restarts = 3  # source recoveries (interlock, thermal) before giving up
        self.restarts = 0
        self.restart_delay_s = 30  # THERMAL_CTRL: OFF this long before the next warm-up
        self.il_clear_s = 10
        self.trips = 0  # trips of every monitor since boot
        self.last_monitor = 0
        self.time_corrections = 0
        self.last_jump_ms = 0
        self.link_silence_s = 30
        self._ev_trip = mdb.event("EV_FDIR_TRIP")[0]
        self._ev_clear = mdb.event("EV_FDIR_CLEAR")[0]
        self._ev_recovery = mdb.event("EV_FDIR_RECOVERY")[0]
        self._ev_gave_up = mdb.event("EV_FDIR_GAVE_UP")[0]
        self._fine_period_us = fine_period_us
        # fine releases the clock may skip in one 0.1 s sample before it is a jump, not a stall
        self._jump_slips = watchdog_timeout_ms * 1000 // fine_period_us
        self._slips_last = fine_group.slips
        self._resume_source = False  # the source was operating when a source monitor tripped
        self._mode_before = source_modes.OFF  # the source's mode before it went SAFE
        self._restart_in_ds = -1  # tenths of a second until a pending source warm-up (-1: none)
        self._sat_last = array("i", [0, 0])
        self._near_limit_nrad = SteeringMirror.TRAVEL_NRAD * 9 // 10
        self._err_ref_mk = 0  # THERMAL_CTRL: |error| at the start of the 5 s window
        self._err_ticks = 0
        self._wheel_hist = array("i", [0] * 30)  # 3 wheels x 10 samples of freq_mhz (1 s)
        self._wheel_i = 0
        self._wheel_n = 0
        self._tc_last = 0
        self._tc_quiet_ds = 0

    # -- helpers ----------------------------------------------------------------------------------
    def _trip(self, mid, value, action):
        self.trips += 1
        self.last_monitor = mid
        self._events.raise_args(self._ev_trip, mid, value, action)

    def _cleared(self, mid):
        self._events.raise_args(self._ev_clear, mid, self.m[mid].trips)

    @property
    def tripped_mask(self):
        mask = 0
        for mid in range(1, N_MONITORS):
            if self.m[mid].tripped:
                mask |= 1 << mid
        return mask

    def set_enabled(self, mid, on):
        """FDIR_ENABLE: one monitor (1..12) or ALL; returns False for an unknown ID."""
        if mid == ALL:
            self.enabled = bool(on)
            if self.tables is not None:
                self.tables.scrub_enabled = bool(on)
            for k in range(1, N_MONITORS):
                self.m[k].reset()
            self.restarts = 0
            self._restart_in_ds = -1
            return True
        if mid < 1 or mid >= N_MONITORS:
            return False
        mon = self.m[mid]
        mon.reset()
        mon.enabled = bool(on)
        return True

    def _sample(self, mid, bad):
        mon = self.m[mid]
        if not mon.enabled:
            return 0
        return mon.sample(bad)

    def _source_operating(self):
        return self._source.modes.mode != source_modes.OFF

    def _restart_source(self, mid):
        """Recovery: warm the source up again, within the restart budget."""
        if self.restarts >= self.max_restarts:
            self._events.raise_args(self._ev_gave_up, mid, self.restarts)
            self._resume_source = False
            return
        self.restarts += 1
        modes = self._source.modes
        if modes.mode != source_modes.OFF:
            modes.command(source_modes.OFF)
        self._source.pump.cut()
        if modes.command(source_modes.WARMUP) == source_modes.OK:
            self._events.raise_args(self._ev_recovery, mid, A_SOURCE_RESTART, self.restarts)
        self._resume_source = False

    # -- 10 Hz: source, wheels, clock, link ---------------------------------------------------------
    def step_10hz(self):
        if not self.enabled:
            self._slips_last = self._fine.slips
            return
        self._check_clock()
        src = self._source
        modes = src.modes
        if modes.mode != source_modes.SAFE:
            self._mode_before = modes.mode
        # SRC_INTERLOCK
        il = modes.interlocks
        r = self._sample(M_SRC_INTERLOCK, il != 0)
        if r > 0:
            self._resume_source = self._mode_before != source_modes.OFF
            self._trip(M_SRC_INTERLOCK, il, A_REPORT)
        elif r < 0:
            self._cleared(M_SRC_INTERLOCK)
            if modes.mode == source_modes.SAFE and self._resume_source:
                self._restart_source(M_SRC_INTERLOCK)
        # THERMAL_CTRL
        self._check_thermal()
        if self._restart_in_ds > 0:
            self._restart_in_ds -= 1
            if self._restart_in_ds == 0:
                self._restart_in_ds = -1
                if modes.mode == source_modes.OFF:
                    self._restart_source(M_THERMAL_CTRL)
        # PUMP_HEADROOM
        p = src.pump
        at_limit = p.power_target_uw > 0 and p.set_ua > 0 and p.target_ua >= p.loop_max_ua
        r = self._sample(M_PUMP_HEADROOM, at_limit)
        if r > 0:
            derated = p.power_uw * 9 // 10
            src.set_pump_power(derated if derated > 0 else 0)
            self._trip(M_PUMP_HEADROOM, derated, A_DERATE_PUMP)
        elif r < 0:
            self._cleared(M_PUMP_HEADROOM)
        self._check_wheels()
        self._check_link()

    def _check_thermal(self):
        c = self._source.crystal
        d = c.drive - _DRIVE_ZERO
        err = c.error_mk if c.error_mk >= 0 else -c.error_mk
        if not c.enabled:
            self._err_ticks = 0
            return
        self._err_ticks += 1
        if self._err_ticks < 50:  # one verdict per 5 s window
            if self._err_ticks == 1:
                self._err_ref_mk = err
            return
        self._err_ticks = 0
        saturated = d >= _DRIVE_SATURATED or d <= -_DRIVE_SATURATED
        stuck = saturated and err > 200 and err > self._err_ref_mk - 20
        r = self._sample(M_THERMAL_CTRL, stuck)
        if r > 0:
            self._resume_source = self._source.modes.mode != source_modes.OFF
            self._source.modes.command(source_modes.OFF)
            self._source.pump.cut()
            self._restart_in_ds = self.restart_delay_s * 10
            self._trip(M_THERMAL_CTRL, err, A_SOURCE_OFF)
        elif r < 0:
            self._cleared(M_THERMAL_CTRL)

    def _check_wheels(self):
        f = self._wheels.freq_mhz
        h = self._wheel_hist
        i = self._wheel_i
        jump = 0
        if self._wheel_n >= 10:
            for w in range(3):
                old = h[i * 3 + w]
                d = f[w] - old
                if d < 0:
                    d = -d
                if old > 0 and d * 50 > old:  # > 2 %
                    jump = f[w] - old
        for w in range(3):
            h[i * 3 + w] = f[w]
        self._wheel_i = (i + 1) % 10
        if self._wheel_n < 10:
            self._wheel_n += 1
        r = self._sample(M_WHEEL, jump != 0)
        if r > 0:
            self._trip(M_WHEEL, jump, A_REPORT)
        elif r < 0:
            self._cleared(M_WHEEL)

    def _check_clock(self):
        s = self._fine.slips
        d = s - self._slips_last
        self._slips_last = s
        r = self._sample(M_CLOCK, d > self._jump_slips)
        if r > 0:
            jump_ms = d * self._fine_period_us // 1000
            self.last_jump_ms = jump_ms
            self._time_correct(jump_ms)
            self._trip(M_CLOCK, jump_ms, A_TIME_CORRECT)
        elif r < 0:
            self._cleared(M_CLOCK)

    def _time_correct(self, jump_ms):
        """Take ``jump_ms`` back off the on-board time (the tick counter jumped, time did not)."""
        t = self._time
        t.rebase()
        ms = t.ms_of_day - jump_ms
        days = t.days
        while ms < 0:
            ms += 86400000
            days -= 1
        if days >= 0 and t.time_ref_status:
            t.set_epoch(days, ms)
        self.time_corrections += 1

    def _check_link(self):
        link = self.link
        if link is None:
            return
        n = link.frames_accepted + link.lab_packets_in
        if n != self._tc_last:
            self._tc_last = n
            self._tc_quiet_ds = 0
        elif self._tc_quiet_ds < 0x3FFFFFFF:
            self._tc_quiet_ds += 1
        active = False
        for b in self._apt:
            if b.state != apt_beam.IDLE:
                active = True
        r = self._sample(M_LINK_SILENT, active and self._tc_quiet_ds >= self.link_silence_s * 10)
        if r > 0:
            self._trip(M_LINK_SILENT, self._tc_quiet_ds // 10, A_REPORT)
        elif r < 0:
            self._cleared(M_LINK_SILENT)

    # -- 100 Hz: the beams ------------------------------------------------------------------------
    def step_100hz(self):
        if not self.enabled:
            return
        for b in range(len(self._apt)):
            self._check_beam(b)

    def _check_beam(self, b):
        apt = self._apt[b]
        loop = self._beams[b]
        st = apt.state
        # MIRROR_SAT: the loop's command within 10 % of the travel limit (or clamped there)
        n = loop.saturations - self._sat_last[b]
        self._sat_last[b] = loop.saturations
        ux = loop.u_x_nrad if loop.u_x_nrad >= 0 else -loop.u_x_nrad
        uy = loop.u_y_nrad if loop.u_y_nrad >= 0 else -loop.u_y_nrad
        u = ux if ux > uy else uy
        r = self._sample(M_MIRROR_SAT_0 + b, st == apt_beam.FINE and (n > 0 or u >= self._near_limit_nrad))
        if r > 0:
            apt.declare_lost()
            self._trip(M_MIRROR_SAT_0 + b, u, A_LEAVE_FINE)
        elif r < 0:
            self._cleared(M_MIRROR_SAT_0 + b)
        # MIRROR_STUCK: the position no longer follows the command while the loop drives it
        pos = loop._pos
        dx = loop.u_x_nrad - pos[0]
        dy = loop.u_y_nrad - pos[1]
        if dx < 0:
            dx = -dx
        if dy < 0:
            dy = -dy
        dev = dx if dx > dy else dy
        r = self._sample(M_MIRROR_STUCK_0 + b, loop.enabled and dev > 20000)
        if r > 0:
            apt.declare_lost()
            self._trip(M_MIRROR_STUCK_0 + b, dev, A_LEAVE_FINE)
        elif r < 0:
            self._cleared(M_MIRROR_STUCK_0 + b)
        # BEACON: the APT lost the beacon (it re-acquires by itself)
        r = self._sample(M_BEACON_0 + b, st == apt_beam.LOST)
        if r > 0:
            self._trip(M_BEACON_0 + b, apt.loss_count, A_REPORT)
        elif r < 0:
            self._cleared(M_BEACON_0 + b)
