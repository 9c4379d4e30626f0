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


class MirrorAxes:
    """One beam's mirror: SteeringMirrorPlant's exact discretisation in plain floats (a numpy call
    per tick costs more than the arithmetic), the same travel clamp and hard stop."""

    def __init__(self, plant: SteeringMirrorPlant):
        self._phi = (float(plant.phi[0, 0]), float(plant.phi[0, 1]), float(plant.phi[1, 0]), float(plant.phi[1, 1]))
        self._gam = (float(plant.gamma[0]), float(plant.gamma[1]))
        self._lim = plant.travel
        self._s = [(0.0, 0.0), (0.0, 0.0)]

    def step(self, cmd_x, cmd_y):
        phi, gam, lim = self._phi, self._gam, self._lim
        out = [0.0, 0.0]
        for ax, u in ((0, cmd_x), (1, cmd_y)):
            u = lim if u > lim else (-lim if u < -lim else u)
            s0, s1 = self._s[ax]
            p = phi[0] * s0 + phi[1] * s1 + gam[0] * u
            v = phi[2] * s0 + phi[3] * s1 + gam[1] * u
            if p > lim or p < -lim:
                p = lim if p > lim else -lim
                v = 0.0
            self._s[ax] = (p, v)
            out[ax] = p
        return out[0], out[1]


class PointingSim:
    def __init__(self, hal, seed_seq: np.random.SeedSequence, dt_s: float, geometry=None,
                 el_mask_deg: float = 10.0, attitude_bias_urad=(0.0, 0.0)):
        self.hal = hal
        self.dt_s = dt_s
        self.geometry = geometry
        self.el_mask_deg = el_mask_deg
        self.bias = attitude_bias_urad  # where the body really points, off its knowledge (urad)
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
        self._pos = np.zeros((2, self.beams))  # mirror x, y per beam (nrad)
        self._ga = [0.0] * self.beams  # gimbal true angles (urad), this tick
        self._gc = [0.0] * self.beams
        self.rec = None
        self._mirrors = [MirrorAxes(self.fsm) for _ in range(self.beams)]
        self._gimbal_every = max(1, int(round(0.01 / dt_s)))
        self._tick = 0
        self._g_path = None  # the gimbal's angles at each tick of the present 10 ms window
        self._enc = None

    def begin(self, steps: int):
        """Arrays for a run of ``steps`` ticks (truth error, disturbance, point-ahead, state)."""
        b = self.beams
        self.rec = {
            "err_x": np.zeros((b, steps), np.float32), "err_y": np.zeros((b, steps), np.float32),
            "d_x": np.zeros((b, steps), np.float32), "d_y": np.zeros((b, steps), np.float32),
            "paa_x": np.zeros((b, steps), np.float32), "paa_y": np.zeros((b, steps), np.float32),
            "state": np.zeros((b, steps), np.int8),
        }

    def before(self, k: int, j: int, t_s: float):
        """Tick ``k`` of this run (``j``: index in the vibration block) at run time ``t_s``."""
        hal = self.hal
        if j == 0:
            blk = self.vib.next_block()
            self._blk = (blk["x_nrad"].tolist(), blk["y_nrad"].tolist(), blk["wheel_freq_mhz"].tolist(),
                         blk["wheel_phase_q16"].tolist())
        vx, vy, wf, wp = self._blk
        for w, tach in enumerate(hal.tachometers):
            tach.freq_mhz = wf[w][j]
            tach.phase_q16 = wp[w][j]
        rec = self.rec
        geo = self.geometry
        for b in range(self.beams):
            ga = self._ga[b]
            gc = self._gc[b]
            if geo is not None:
                at, ct, px, py, el = geo.at(b, t_s)
                at += self.bias[0]
                ct += self.bias[1]
                beacon = el >= self.el_mask_deg
            else:
                at, ct = ga, gc  # the beacon on the boresight: vibration only
                px = py = 0.0
                beacon = True
            cos_c = math.cos(gc * 1e-6)
            ox = ((at - ga) * cos_c) * 1000.0 - vx[b][j]  # at the camera (no mirror), nrad
            oy = (ct - gc) * 1000.0 - vy[b][j]
            mx = self._pos[0][b]
            my = self._pos[1][b]
            sx = ox - mx
            sy = oy - my
            rec["err_x"][b, k] = (sx + px * 1000.0) * 1e-3  # the quantum beam's truth error, urad
            rec["err_y"][b, k] = (sy + py * 1000.0) * 1e-3
            rec["d_x"][b, k] = ox * 1e-3
            rec["d_y"][b, k] = oy * 1e-3
            rec["paa_x"][b, k] = px
            rec["paa_y"][b, k] = py
            f = self.fine[b].step(sx if beacon else 1e12, sy)
            if f is not None:
                hal.fine_sensor[b].publish(*f)
            c = self.cam[b].step(ox if beacon else 1e12, oy)
            if c is not None:
                hal.coarse_sensor[b].publish(*c)

    def record_state(self, k: int, states):
        for b, s in enumerate(states):
            self.rec["state"][b, k] = s

    def after(self):
        """Move the mirror and the gimbal to the flight's commands for one tick."""
        hal = self.hal
        # the mirror: SteeringMirrorPlant's exact discretisation, in plain floats (a numpy call per
        # tick costs more than the arithmetic); same travel clamp and hard stop
        pos = self._pos
        for b, m in enumerate(hal.fsm):
            x, y = self._mirrors[b].step(m.cmd_x_nrad, m.cmd_y_nrad)
            pos[0][b] = x
            pos[1][b] = y
            m.x_nrad = int(x)
            m.y_nrad = int(y)
        # the gimbal: the flight commands its rate at 100 Hz, so the plant runs 10 ms ahead at each
        # command and the line of sight follows its 1 ms substeps tick by tick (smooth, as a gimbal is)
        g = hal.gimbal
        if self._tick == 0:
            trace = []
            self.gimbal.step(self._gimbal_every * self.dt_s, [gg.rate_az_urad_s for gg in g],
                             [gg.rate_el_urad_s for gg in g], trace=trace)
            per = max(1, len(trace) // self._gimbal_every)
            self._g_path = [trace[min(len(trace) - 1, (i + 1) * per - 1)].tolist() for i in range(self._gimbal_every)]
            ea, ec = self.gimbal.read_encoder()
            self._enc = (ea.tolist(), ec.tolist())
        ang = self._g_path[self._tick]
        for b, gg in enumerate(g):
            self._ga[b] = ang[b][0]
            self._gc[b] = ang[b][1]
        self._tick += 1
        if self._tick >= self._gimbal_every:
            self._tick = 0
            for b, gg in enumerate(g):  # the encoders read the end of the window, as the next command sees it
                gg.az_urad = int(self._enc[0][b])
                gg.el_urad = int(self._enc[1][b])
