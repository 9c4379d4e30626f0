"""The pointing plant in lock-step: line of sight, gimbal, mirror, sensors and wheels, per fine tick.

Each beam's line of sight is the gimbal's boresight, plus the mirror's
deflection, plus the platform's micro-vibration (sim/vibration.py, shared
wheels, per-beam coupling).  With ``a_g, c_g`` the gimbal's true angles,
``m`` the mirror position and ``v`` the vibration, the beacon of the beam's
ground station (gimbal angles ``a_t, c_t``, sim/pass_geometry.py) sits at

    s = ((a_t - a_g) cos c_g - m_x - v_x,  (c_t - c_g) - m_y - v_y)        (nrad)

in the fine sensor, which sees it through the mirror; the coarse camera, on the
gimbal, sees it without ``m``.  The quantum beam must lead the beacon by the
point-ahead angle ``p``, so its truth pointing error is ``e = s + p``; the
flight code regulates ``s`` to ``-p`` as its ephemeris predicts it.  ``d = s + m``
(the same with the mirror at rest) is kept for the pointing-only replays.

The beacon is on (the station tracks the satellite) while the station is above
the elevation mask; without a geometry the beacon sits on the boresight for
ever (the bench set-up of the scheduler tests: vibration only).

Per tick: ``before(k)`` publishes the sensors and the tachometers into the
emulated HAL, the flight step runs, ``after()`` moves the mirror (second
order, 800 Hz) and the gimbal (rate loop, limits) to the flight's commands.
"""

import math

import numpy as np

from sim.pointing_plant import BeaconCamera, FineBeaconSensor, GimbalPlant, SteeringMirrorPlant
from sim.vibration import MicroVibration

XY_LIMIT_URAD = 1396263  # the X-Y gimbal's stops: +/- 80 deg
REC_KEYS = ("err_x", "err_y", "d_x", "d_y", "paa_x", "paa_y", "state")  # PointingSim.rec, state last


class MirrorAxes:
    """One beam's mirror: SteeringMirrorPlant's exact discretisation in plain floats (a numpy call
    per tick costs more than the arithmetic), the same travel clamp and hard stop."""

    def __init__(self, plant: SteeringMirrorPlant):
        self._phi = (float(plant.phi[0, 0]), float(plant.phi[0, 1]), float(plant.phi[1, 0]), float(plant.phi[1, 1]))
        self._gam = (float(plant.gamma[0]), float(plant.gamma[1]))
        self._lim = plant.travel
        self.stuck = False  # fault injection: the mirror no longer moves (seized flexure, dead driver)
        self._x = (0.0, 0.0)  # per axis: (p, p' / w_n)
        self._y = (0.0, 0.0)

    def step(self, cmd_x, cmd_y):
        if self.stuck:
            return self._x[0], self._y[0]
        self._x = x = self._axis(self._x, cmd_x)
        self._y = y = self._axis(self._y, cmd_y)
        return x[0], y[0]

    def _axis(self, s, u):
        """One tick of one axis from state ``s`` under command ``u``: the new state (p, p' / w_n)."""
        lim = self._lim
        u = lim if u > lim else (-lim if u < -lim else u)
        f00, f01, f10, f11 = self._phi
        g0, g1 = self._gam
        s0, s1 = s
        p = f00 * s0 + f01 * s1 + g0 * u
        v = f10 * s0 + f11 * s1 + g1 * u
        if p > lim or p < -lim:
            return (lim if p > lim else -lim), 0.0
        return p, v


class PointingSim:
    def __init__(self, hal, seed_seq: np.random.SeedSequence, dt_s: float, geometry=None,
                 el_mask_deg: float = 10.0, attitude_bias_urad=(0.0, 0.0)):
        self.hal = hal
        self.dt_s = dt_s
        self.geometry = geometry
        self.el_mask_deg = el_mask_deg
        self.bias = attitude_bias_urad  # where the body really points, off its knowledge (urad)
        # fault injection (sim/faults.py): an attitude drift the platform does not correct (urad/s per
        # axis, added to the bias every tick) and beacons hidden from the sensors, per beam
        self.bias_rate_urad_s = (0.0, 0.0)
        self.beacon_blocked = [False] * len(hal.fsm)
        self.seqs = seed_seq.spawn(2 + 4)  # vibration, gimbal, fine sensors, cameras (kept for replays)
        rng_vib, rng_gimbal, *rng_sens = (np.random.default_rng(s) for s in self.seqs)
        self.beams = len(hal.fsm)
        self.vib = MicroVibration(rng_vib, dt_s, beams=self.beams)
        self.block = self.vib.block
        self.fsm = SteeringMirrorPlant(beams=self.beams, dt_s=dt_s)
        self.gimbal = GimbalPlant(beams=self.beams, rng=rng_gimbal, az_limits_urad=(-XY_LIMIT_URAD, XY_LIMIT_URAD),
                                  el_limits_urad=(-XY_LIMIT_URAD, XY_LIMIT_URAD), az0_urad=0.0, el0_urad=0.0)
        # a runner slower than the fine sensor (bench runs of the source alone) gets a frame a tick
        fine_hz = min(1000.0, 1.0 / dt_s)
        cam_hz = min(50.0, 1.0 / dt_s)
        self.fine = [FineBeaconSensor(rng_sens[b], tick_s=dt_s, frame_hz=fine_hz) for b in range(self.beams)]
        self.cam = [BeaconCamera(rng_sens[2 + b], tick_s=dt_s, frame_hz=cam_hz) for b in range(self.beams)]
        self._blk = None
        self._mx = [0.0] * self.beams  # mirror positions (nrad), per beam
        self._my = [0.0] * self.beams
        self._ga = [0.0] * self.beams  # gimbal true angles (urad), this tick
        self._gc = [0.0] * self.beams
        self.rec = None
        self._rows = None  # per beam: memoryviews of rec's rows (see begin)
        # per beam: (fine sensor, camera) and the HAL registers they publish into
        self._sensors = list(zip(self.fine, self.cam, hal.fine_sensor, hal.coarse_sensor))
        self._mirrors = [MirrorAxes(self.fsm) for _ in range(self.beams)]
        self._gimbal_every = max(1, int(round(0.01 / dt_s)))
        self._tick = 0
        self._g_path = None  # the gimbal's angles, ([a per beam], [c per beam]), at each tick of the 10 ms window
        self._enc = None

    def begin(self, steps: int):
        """Arrays for a run of ``steps`` ticks (truth error, disturbance, point-ahead, state)."""
        b = self.beams
        self.rec = {key: np.zeros((b, steps), np.int8 if key == "state" else np.float32) for key in REC_KEYS}
        # the per-tick writes go through memoryviews of the rows, in REC_KEYS order: the same C cast
        # of the double to float32 as numpy's item assignment, at half its cost
        self._rows = [tuple(memoryview(self.rec[key][i]) for key in REC_KEYS) for i in range(b)]

    def before(self, k: int, j: int, t_s: float):
        """Tick ``k`` of this run (``j``: index in the vibration block) at run time ``t_s``."""
        hal = self.hal
        if j == 0:
            blk = self.vib.next_block()
            self._blk = (blk["x_nrad"].tolist(), blk["y_nrad"].tolist(), blk["wheel_freq_mhz"].tolist(),
                         blk["wheel_phase_q16"].tolist())
        vx, vy, wf, wp = self._blk
        for tach, freq, phase in zip(hal.tachometers, wf, wp):
            tach.freq_mhz = freq[j]
            tach.phase_q16 = phase[j]
        geo = self.geometry
        ra, rc = self.bias_rate_urad_s
        if ra or rc:
            self.bias = (self.bias[0] + ra * self.dt_s, self.bias[1] + rc * self.dt_s)
        bias_a, bias_c = self.bias
        blocked = self.beacon_blocked
        for b, (fine, cam, fine_hal, cam_hal) in enumerate(self._sensors):
            ga = self._ga[b]
            gc = self._gc[b]
            if geo is not None:
                at, ct, px, py, el = geo.at(b, t_s)
                at += bias_a
                ct += bias_c
                beacon = el >= self.el_mask_deg
            else:
                at, ct = ga, gc  # the beacon on the boresight: vibration only
                px = py = 0.0
                beacon = True
            cos_c = math.cos(gc * 1e-6)
            ox = ((at - ga) * cos_c) * 1000.0 - vx[b][j]  # at the camera (no mirror), nrad
            oy = (ct - gc) * 1000.0 - vy[b][j]
            sx = ox - self._mx[b]
            sy = oy - self._my[b]
            if blocked[b]:
                beacon = False
            err_x, err_y, d_x, d_y, paa_x, paa_y, _ = self._rows[b]
            err_x[k] = (sx + px * 1000.0) * 1e-3  # the quantum beam's truth error, urad
            err_y[k] = (sy + py * 1000.0) * 1e-3
            d_x[k] = ox * 1e-3
            d_y[k] = oy * 1e-3
            paa_x[k] = px
            paa_y[k] = py
            f = fine.step(sx if beacon else 1e12, sy)
            if f is not None:
                fine_hal.publish(*f)
            c = cam.step(ox if beacon else 1e12, oy)
            if c is not None:
                cam_hal.publish(*c)

    def record_state(self, k: int, states):
        for row, s in zip(self._rows, states):
            row[-1][k] = s

    def after(self):
        """Move the mirror and the gimbal to the flight's commands for one tick."""
        hal = self.hal
        # the mirror: SteeringMirrorPlant's exact discretisation, in plain floats (MirrorAxes)
        for b, m in enumerate(hal.fsm):
            x, y = self._mirrors[b].step(m.cmd_x_nrad, m.cmd_y_nrad)
            self._mx[b] = x
            self._my[b] = y
            m.x_nrad = int(x)
            m.y_nrad = int(y)
        # the gimbal: the flight commands its rate at 100 Hz, so the plant runs 10 ms ahead at each
        # command and the line of sight follows its 1 ms substeps tick by tick (smooth, as a gimbal is)
        g = hal.gimbal
        if self._tick == 0:
            self._gimbal_window(g)
        self._ga, self._gc = self._g_path[self._tick]
        self._tick += 1
        if self._tick >= self._gimbal_every:
            self._tick = 0
            for b, gg in enumerate(g):  # the encoders read the end of the window, as the next command sees it
                gg.az_urad = self._enc[0][b]
                gg.el_urad = self._enc[1][b]

    def _gimbal_window(self, g):
        """Step the gimbal plant over the next 10 ms window under the HAL gimbals' rate commands."""
        trace = []
        self.gimbal.step(self._gimbal_every * self.dt_s, [gg.rate_az_urad_s for gg in g],
                         [gg.rate_el_urad_s for gg in g], trace=trace)
        per = max(1, len(trace) // self._gimbal_every)
        path = (trace[min(len(trace) - 1, (i + 1) * per - 1)] for i in range(self._gimbal_every))
        self._g_path = [([a for a, _ in angles], [c for _, c in angles]) for angles in path]
        ea, ec = self.gimbal.read_encoder()
        self._enc = (ea.tolist(), ec.tolist())  # Python ints
