"""Acquisition, pointing and tracking of one quantum beam (MicroPython subset, 100 Hz).

::

    IDLE --APT_START, ephemeris valid now--> OPEN_LOOP --beacon in the camera--> COARSE
                                                 |  not seen acq_wait_ms           |  camera offset < 60 urad:
                                                 v                                 |  fine loop closes; it holds
                                            ACQUISITION (spiral) --seen--> COARSE  v  the beacon for 0.5 s
    IDLE <-- ephemeris ends, APT_STOP       LOST <--fine frames missing lost_ms-- FINE
                                             |--beacon in the camera--> COARSE
                                             '--reacq_ms without it--> ACQUISITION

The gimbal is an X-Y mount driven in rate: axis ``a`` tilts along track, ``c``
across (no keyhole at nadir, where a LEO pass culminates).  Its command is the
ephemeris rate plus a proportional correction: towards the ephemeris angles
(OPEN_LOOP, ACQUISITION, where a spiral of ``pitch_urad`` is added to them),
towards the beacon seen by the coarse camera (COARSE), and in FINE towards the
mirror's deflection, so the gimbal takes the large, slow motion and the mirror
stays near the middle of its travel ("offload").  The fine loop
(payload/fine_loop.py, the point-ahead angle from the ephemeris as its set
point) closes in COARSE once the camera puts the beacon well inside the fine
sensor's field; fine track (FINE) is declared when it holds the beacon: the fine
sensor's mean |error| (both axes, noise included) below ``lock_err_nrad`` for
``lock_steps``.  The same convention as a laser terminal's "fine lock": the
quantum beam may emit only in FINE, and the residual is judged there.  Commands
are clamped to the gimbal's rate limit.

Camera offsets are tangent-plane angles; along ``a`` they are divided by
``cos(c)`` (from a 256-entry Q12 sine table: 2.5 % at worst, a gain error the
loop does not notice).  Integers throughout; one step allocates nothing.
"""

from array import array

from bus.compat import const
from payload import ephemeris as eph
from payload.vib_canceller import SIN_Q12

IDLE = const(0)
OPEN_LOOP = const(1)
ACQUISITION = const(2)
COARSE = const(3)
FINE = const(4)
LOST = const(5)
STATE_NAMES = ("IDLE", "OPEN_LOOP", "ACQUISITION", "COARSE", "FINE", "LOST")

STEP_MS = const(10)  # the 100 Hz coarse group


def _cos_q12(angle_urad):
    """cos of an angle in urad, Q12 (angle_urad // 96 is the angle in Q16 revolutions)."""
    return SIN_Q12[(((angle_urad // 96) >> 8) + 64) & 0xFF]


def _sin_q12(phase_q16):
    return SIN_Q12[(phase_q16 >> 8) & 0xFF]


class BeamPointing:
    def __init__(self, beam, gimbal, camera, loop, ephem, flight_time, rate_limit_urad_s=52360,
                 k_pos_q8=256, k_cam_q8=768, k_offload_q8=128, handover_urad=60, handover_frames=5,
                 acq_wait_ms=3000, lost_ms=50, camera_lost_ms=500, reacq_ms=2000, pitch_urad=20000,
                 spiral_urad_s=20000, spiral_max_urad=200000, el_mask_cdeg=1000):
        self.beam = beam
        self._gimbal = gimbal  # HAL Gimbal (rates urad/s, encoders urad)
        self._camera = camera  # HAL BeaconSensor: the coarse camera
        self.loop = loop  # payload.fine_loop.FinePointingLoop
        self.ephem = ephem  # payload.ephemeris.Ephemeris
        self._time = flight_time  # bus.cds_time.FlightTime
        self.rate_limit_urad_s = rate_limit_urad_s
        self.k_pos_q8 = k_pos_q8  # 1/s, Q8: ephemeris-angle loop (1 s time constant)
        self.k_cam_q8 = k_cam_q8  # 1/s, Q8: camera loop (3 /s)
        self.k_offload_q8 = k_offload_q8  # 1/s, Q8: mirror offload (0.5 /s)
        self.handover_urad = handover_urad  # camera offset below which the fine sensor takes over
        self.handover_frames = handover_frames
        self.acq_wait_ms = acq_wait_ms
        self.lost_ms = lost_ms  # fine frames missing this long in FINE: lock lost
        self.camera_lost_ms = camera_lost_ms  # no camera frame this long in COARSE: lost
        self.reacq_ms = reacq_ms
        self.pitch_urad = pitch_urad  # spiral pitch (below the camera's field)
        self.spiral_urad_s = spiral_urad_s  # spiral scan speed
        self.spiral_max_urad = spiral_max_urad
        self.el_mask_cdeg = el_mask_cdeg  # station elevation below which nothing emits (10 deg)
        self.state = IDLE
        self.on_change = None  # callable(beam, old, new)
        self._eph = array("i", [0] * 7)  # a, c, a_rate, c_rate, paa_x, paa_y, el
        self._enc = array("i", [0, 0])
        self._cam = array("i", [0, 0, 0])
        self._since_ms = 0  # time in the present state
        self._good = 0  # consecutive camera frames inside the handover radius
        self._cam_age_ms = 1000000  # since the last camera frame with the beacon
        self._arrived = False  # the gimbal is on the ephemeris direction (OPEN_LOOP)
        self.closing = False  # COARSE with the fine loop closed, settling before fine track
        self.lock_err_nrad = 1200  # fine track: mean |e_x| + |e_y| (noise included) below this ...
        self.lock_steps = 50  # ... for this many 10 ms steps
        self.arrive_urad = 2000
        self._spiral_q16 = 0  # spiral angle, Q16 revolutions (unwrapped)
        self._spiral_r = 0  # spiral radius, urad
        self.cam_x_nrad = 0  # last camera offset
        self.cam_y_nrad = 0
        self.in_view = False  # ephemeris says the station is above the elevation mask
        self.loss_count = 0  # FINE -> LOST transitions
        self.acquisition_ms = 0  # OPEN_LOOP start to the first FINE of this track
        self._acq_timer_ms = -1
        self.rate_a_urad_s = 0  # last gimbal command
        self.rate_c_urad_s = 0

    @property
    def locked(self):
        return self.state == FINE

    @property
    def tracking(self):
        return self.state == COARSE or self.state == FINE

    def _close_fine(self):
        """COARSE: the beacon is in the fine sensor's field: close the fine loop (not yet fine track)."""
        loop = self.loop
        loop.hold(loop.u_x_nrad, loop.u_y_nrad)
        loop.enabled = True
        loop.err_ema_nrad = self.lock_err_nrad * 4
        self.closing = True
        self._good = 0

    def _open_fine(self):
        """Open the fine loop and put the mirror back to its null: held where it was, a mirror
        that had run to its travel limit would keep the beacon outside the fine sensor's field
        while the camera centres it, and the loop could never close again."""
        self.loop.enabled = False
        self.loop.hold(0, 0)
        self.closing = False
        self._good = 0

    def _go(self, new):
        old = self.state
        if new == old:
            return
        self.state = new
        self._since_ms = 0
        self._good = 0
        if new == FINE:
            if not self.closing:
                self._close_fine()
            self.closing = False
            if self._acq_timer_ms >= 0:
                self.acquisition_ms = self._acq_timer_ms
                self._acq_timer_ms = -1
        else:
            self._open_fine()
        if new == LOST:
            self.loss_count += 1
        if new == ACQUISITION:
            self._spiral_q16 = 0
            self._spiral_r = 0
        if new == OPEN_LOOP:
            self._acq_timer_ms = 0
        if new == IDLE:
            self.loop.hold(0, 0)
            self._gimbal.set_rate_urad_s(0, 0)
            self.rate_a_urad_s = 0
            self.rate_c_urad_s = 0
        if self.on_change is not None:
            self.on_change(self.beam, old, new)

    def start(self):
        """APT_START: needs a valid ephemeris covering now; returns an ephemeris refusal or OK."""
        t = self._time
        t.rebase()
        if not self.ephem.valid:
            return eph.REFUSED_NO_TABLE
        if not self.ephem.at(t.days, t.ms_of_day, self._eph):
            return eph.REFUSED_SIZE  # stale or not yet: the caller reports EPHEMERIS_STALE
        self._go(OPEN_LOOP)
        return eph.OK

    def stop(self):
        self._go(IDLE)

    def declare_lost(self):
        """FDIR: the fine loop cannot be trusted (mirror saturated or stuck): leave fine or coarse
        track for LOST, which opens the fine loop and re-acquires through the camera."""
        if self.state == FINE or self.state == COARSE:
            self._go(LOST)

    def _rate(self, ra, rc):
        lim = self.rate_limit_urad_s
        ra = lim if ra > lim else (-lim if ra < -lim else ra)
        rc = lim if rc > lim else (-lim if rc < -lim else rc)
        self.rate_a_urad_s = ra
        self.rate_c_urad_s = rc
        self._gimbal.set_rate_urad_s(ra, rc)

    def step(self):
        st = self.state
        if st == IDLE:
            return
        self._since_ms += STEP_MS
        if self._acq_timer_ms >= 0:
            self._acq_timer_ms += STEP_MS
        t = self._time
        t.rebase()
        e = self._eph
        if not self.ephem.at(t.days, t.ms_of_day, e):  # the pass is over (or the table went away)
            self._go(IDLE)
            return
        self.in_view = e[6] >= self.el_mask_cdeg
        self._gimbal.read_into(self._enc)
        cos_c = _cos_q12(self._enc[1])
        if cos_c < 410:
            cos_c = 410  # 0.1: never divide by a vanishing cosine
        fresh = self._camera.read_into(self._cam)
        if fresh:
            self.cam_x_nrad = self._cam[0]
            self.cam_y_nrad = self._cam[1]
            self._cam_age_ms = 0
        elif self._cam_age_ms < 1000000:
            self._cam_age_ms += STEP_MS
        seen = self._cam_age_ms <= 100  # the beacon was in the camera within two frames
        # ephemeris feed-forward rate, then the state's correction (urad/s)
        ra = e[2]
        rc = e[3]
        if st == OPEN_LOOP or st == ACQUISITION or (st == LOST and not seen):
            ta = e[0]
            tc = e[1]
            if st == ACQUISITION:
                ta, tc = self._spiral(ta, tc, cos_c)
            da = ta - self._enc[0]
            dc = tc - self._enc[1]
            lim = self.arrive_urad
            self._arrived = -lim < da < lim and -lim < dc < lim
            ra += (self.k_pos_q8 * da) >> 8
            rc += (self.k_pos_q8 * dc) >> 8
        elif (st == COARSE and not self.closing) or (st == LOST and seen):
            # camera offsets in nrad -> urad; along a, divide by cos(c)
            ra += (self.k_cam_q8 * ((self.cam_x_nrad // 1000) * 4096 // cos_c)) >> 8
            rc += (self.k_cam_q8 * (self.cam_y_nrad // 1000)) >> 8
        else:  # FINE, or the fine loop closing in COARSE: offload the mirror's deflection to the gimbal
            loop = self.loop
            ra += (self.k_offload_q8 * ((loop.u_x_nrad // 1000) * 4096 // cos_c)) >> 8
            rc += (self.k_offload_q8 * (loop.u_y_nrad // 1000)) >> 8
            loop.offset_x_nrad = -e[4]  # the sensor must see the beacon point-ahead away
            loop.offset_y_nrad = -e[5]
        self._rate(ra, rc)
        self._transitions(st, seen, fresh)

    def _transitions(self, st, seen, fresh):
        if st == OPEN_LOOP:
            if seen:
                self._go(COARSE)
            elif not self._arrived or not self.in_view:
                self._since_ms = 0  # the wait starts once the gimbal is there and the station up
            elif self._since_ms >= self.acq_wait_ms:
                self._go(ACQUISITION)
        elif st == ACQUISITION:
            if seen:
                self._go(COARSE)
        elif st == COARSE:
            loop = self.loop
            if self.closing:
                # the fine loop is closed; fine track is declared once it holds the beacon (mean
                # |error| over both axes, as the fine sensor measures it, noise included)
                if loop.missed >= self.lost_ms:
                    self._open_fine()
                elif loop.err_ema_nrad < self.lock_err_nrad:
                    self._good += 1
                    if self._good >= self.lock_steps:
                        self._go(FINE)
                else:
                    self._good = 0
            elif fresh:
                h = self.handover_urad * 1000
                x = self.cam_x_nrad
                y = self.cam_y_nrad
                if -h < x < h and -h < y < h and loop.missed == 0:
                    self._good += 1
                    if self._good >= self.handover_frames:
                        self._close_fine()
                else:
                    self._good = 0
            elif self._cam_age_ms >= self.camera_lost_ms:
                self._go(LOST)
        elif st == FINE:
            if self.loop.missed >= self.lost_ms:  # fine frames missing (one a ms at 1 kHz)
                self._go(LOST)
        elif st == LOST:
            if fresh:  # a camera frame with the beacon since the loss
                self._go(COARSE)
            elif self._since_ms >= self.reacq_ms:
                self._go(ACQUISITION)

    def _spiral(self, ta, tc, cos_c):
        """Archimedean spiral about the ephemeris direction, constant scan speed."""
        r = self._spiral_r
        # d(theta) = v dt / (2 pi r) revolutions, with r at least one pitch (the first turn)
        rr = r if r > self.pitch_urad else self.pitch_urad
        step_urad = self.spiral_urad_s * STEP_MS // 1000
        self._spiral_q16 += step_urad * 65536 // (6283 * (rr // 1000))
        r = ((self._spiral_q16 >> 6) * self.pitch_urad) >> 10  # pitch per revolution
        if r > self.spiral_max_urad:
            self._spiral_q16 = 0
            r = 0
        self._spiral_r = r
        p = self._spiral_q16 & 0xFFFF
        dx = r * SIN_Q12[((p >> 8) + 64) & 0xFF] >> 12
        dy = r * SIN_Q12[(p >> 8) & 0xFF] >> 12
        return ta + dx * 4096 // cos_c, tc + dy
