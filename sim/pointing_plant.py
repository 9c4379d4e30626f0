"""Pointing plant for the emulator: steering mirror, coarse gimbal, beacon sensors, link efficiency.

Compound-axis tracking as on Micius (shared/REFERENCES.md, "Pointing and
micro-vibration": a two-axis turntable for coarse pointing plus a fast steering
mirror for fine pointing, in-orbit accuracy 0.5-1.0 urad).  Per beam:

- ``GimbalPlant``: the turntable, driven in rate (urad/s), read by encoders (urad);
- ``BeaconCamera``: the wide-field coarse sensor that sees the ground beacon;
- ``SteeringMirrorPlant``: the mirror, commanded in nrad of mechanical tilt;
- ``FineBeaconSensor``: the narrow-field fine sensor behind the mirror;
- ``pointing_efficiency``: what a pointing error costs the downlink.

Units follow hal/interface.py (mirror and beacon sensors in nrad, gimbal in
urad and urad/s).  Every model takes a numpy ``Generator`` for its noise, so a
run is reproducible from one seed.  Parameters and their sources:

=========================  ================  ===========================================================
name                       value             source
=========================  ================  ===========================================================
SteeringMirrorPlant
  f_n_hz                   800 Hz            assumed: a voice-coil FSM with an analog position loop;
                                             datasheets of this class (Newport FSM-300, Optics in
                                             Motion OIM-series) quote closed-loop small-signal
                                             bandwidths of several hundred Hz to ~1 kHz
  zeta                     0.5               assumed: well-damped position loop; resonance peak
                                             +1.25 dB at f_n sqrt(1 - 2 zeta^2) = 566 Hz, -3 dB
                                             bandwidth 1.27 f_n = 1.02 kHz, 16 % step overshoot
  travel_nrad              +/- 1,000,000     hal.interface.SteeringMirror.TRAVEL_NRAD (+/- 1 mrad);
                                             commands are clamped, the position stops there too
GimbalPlant
  tau_s                    0.05 s            assumed: first-order rate response of a motor rate loop
  rate_limit               3 deg/s           assumed; a 500 km pass moves the line of sight by at most
                                             v/h = 7.6 km/s / 500 km = 15 mrad/s = 0.87 deg/s (at
                                             culmination), so 3 deg/s leaves margin for acquisition
  accel_limit              10 deg/s^2        assumed (motor torque / turntable inertia); the pass needs
                                             at most 0.65 (v/h)^2 = 1.5e-4 rad/s^2 = 0.009 deg/s^2
  az_limits                +/- 170 deg       pointing issue's default (cable wrap)
  el_limits                0 .. 180 deg      pointing issue's default (el from the payload x-y plane
                                             towards nadir); both are configurable, motion stops dead
                                             at a stop
  encoder_lsb_urad         1 urad            hal.interface (gimbal angles are urad)
  encoder_noise_urad       0.3 urad rms      assumed: a 24-bit absolute encoder (LSB 0.37 urad)
BeaconCamera
  frame_hz                 50 Hz             assumed: coarse CMOS beacon camera
  latency                  1 frame           pointing issue (readout while the next frame exposes)
  nea                      5 urad rms/axis   assumed
  fov                      +/- 35 mrad       assumed: +/- 2 deg, wider than the gimbal's open-loop
                                             pointing error from orbit and attitude knowledge
FineBeaconSensor
  frame_hz                 1 kHz             pointing issue's default (one frame per fine tick);
                                             ETS-VI sampled its sensor at 500 Hz (REFERENCES)
  latency                  1 frame           pointing issue
  nea                      0.3 urad rms/axis pointing issue's default (1 sigma per frame)
  fov                      +/- 200 urad      pointing issue; payload/fine_loop.py's E_LIMIT_NRAD
=========================  ================  ===========================================================
"""

import math
from collections import deque

import numpy as np

from sim.vibration import expm

URAD_PER_DEG = math.pi / 180.0 * 1e6
MIRROR_TRAVEL_NRAD = 1_000_000


def _per_beam(value, beams: int) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return np.full(beams, float(a))
    if a.shape != (beams,):
        raise ValueError(f"expected a scalar or {beams} values per beam, got shape {a.shape}")
    return a


# ---------------------------------------------------------------------------
# fast steering mirror
# ---------------------------------------------------------------------------
class SteeringMirrorPlant:
    """Two-axis fast steering mirror per beam: command (nrad) -> position (nrad).

    Each axis is the closed-loop second-order system of a mirror behind its own
    analog position loop::

        p'' = w_n^2 (u - p) - 2 zeta w_n p',   H(s) = w_n^2 / (s^2 + 2 zeta w_n s + w_n^2)

    integrated exactly for a command held over each tick (zero-order hold: the
    flight code writes the DAC once per tick).  The tick is split into
    ``substeps`` equal parts, each an exact discrete step (the matrix
    exponential is computed once), so the positions at the tick ends do not
    depend on ``substeps``; the sub-tick positions are kept in ``sub_x_nrad`` /
    ``sub_y_nrad`` (beams, substeps) for evaluating the line of sight between
    ticks.  Commands are clamped to +/- ``travel_nrad``; the position has a hard
    stop there too (on overshoot it is held at the stop with zero velocity).
    """

    def __init__(self, beams: int = 2, f_n_hz: float = 800.0, zeta: float = 0.5, dt_s: float = 0.001,
                 substeps: int = 1, travel_nrad: float = MIRROR_TRAVEL_NRAD):
        if f_n_hz <= 0 or zeta <= 0 or dt_s <= 0 or substeps < 1:
            raise ValueError("f_n_hz, zeta, dt_s must be > 0 and substeps >= 1")
        self.beams = beams
        self.f_n_hz = f_n_hz
        self.zeta = zeta
        self.dt = dt_s
        self.substeps = int(substeps)
        self.travel = float(travel_nrad)
        wn = 2 * math.pi * f_n_hz
        self.wn = wn
        # state (p, p' / w_n): well scaled for the matrix exponential
        a = wn * np.array([[0.0, 1.0], [-1.0, -2.0 * zeta]])
        b = wn * np.array([0.0, 1.0])
        m = np.zeros((3, 3))
        m[:2, :2] = a
        m[:2, 2] = b
        e = expm(m * (dt_s / self.substeps))
        self.phi = e[:2, :2]
        self.gamma = e[:2, 2]
        self.state = np.zeros((beams, 2, 2))  # beam, axis (x, y), (p, p'/w_n)
        self.cmd = np.zeros((beams, 2))
        self.sub_x_nrad = np.zeros((beams, self.substeps))
        self.sub_y_nrad = np.zeros((beams, self.substeps))
        self.saturations = 0  # commands clamped to the travel
        self.stop_hits = 0  # substeps that ended on the hard stop

    @property
    def resonance_hz(self) -> float | None:
        """Frequency of the peak of |H| (f_n sqrt(1 - 2 zeta^2)); None without a peak (zeta >= 0.707)."""
        if self.zeta ** 2 >= 0.5:
            return None
        return self.f_n_hz * math.sqrt(1.0 - 2.0 * self.zeta ** 2)

    @property
    def peak_gain(self) -> float:
        """|H| at the resonance: 1 / (2 zeta sqrt(1 - zeta^2)), or 1 without a peak."""
        if self.zeta ** 2 >= 0.5:
            return 1.0
        return 1.0 / (2.0 * self.zeta * math.sqrt(1.0 - self.zeta ** 2))

    def frequency_response(self, f_hz) -> np.ndarray:
        """Complex H(j 2 pi f) of an axis (continuous time, command -> position)."""
        w = 2 * np.pi * np.asarray(f_hz, dtype=np.float64)
        wn = self.wn
        return wn ** 2 / (wn ** 2 - w ** 2 + 2j * self.zeta * wn * w)

    @property
    def x_nrad(self) -> np.ndarray:
        return self.state[:, 0, 0].copy()

    @property
    def y_nrad(self) -> np.ndarray:
        return self.state[:, 1, 0].copy()

    def reset(self, x_nrad=0.0, y_nrad=0.0) -> None:
        """Place the mirror at rest at the given positions."""
        self.state[:] = 0.0
        self.state[:, 0, 0] = _per_beam(x_nrad, self.beams)
        self.state[:, 1, 0] = _per_beam(y_nrad, self.beams)

    def step(self, cmd_x_nrad, cmd_y_nrad) -> tuple[np.ndarray, np.ndarray]:
        """Hold these commands (per beam arrays or scalars) for one tick; return positions at its end."""
        u = np.stack([_per_beam(cmd_x_nrad, self.beams), _per_beam(cmd_y_nrad, self.beams)], axis=1)
        lim = self.travel
        over = np.abs(u) > lim
        if over.any():
            self.saturations += int(over.sum())
            u = np.clip(u, -lim, lim)
        self.cmd = u
        phi, gam = self.phi, self.gamma
        s = self.state
        for k in range(self.substeps):
            p = phi[0, 0] * s[..., 0] + phi[0, 1] * s[..., 1] + gam[0] * u
            v = phi[1, 0] * s[..., 0] + phi[1, 1] * s[..., 1] + gam[1] * u
            stop = np.abs(p) > lim
            if stop.any():
                self.stop_hits += int(stop.sum())
                p = np.clip(p, -lim, lim)
                v = np.where(stop, 0.0, v)
            s[..., 0] = p
            s[..., 1] = v
            self.sub_x_nrad[:, k] = p[:, 0]
            self.sub_y_nrad[:, k] = p[:, 1]
        return self.x_nrad, self.y_nrad


# ---------------------------------------------------------------------------
# coarse gimbal
# ---------------------------------------------------------------------------
class GimbalPlant:
    """Two-axis coarse turntable per beam, driven in rate.

    Per axis and per internal substep ``h`` (at most ``max_substep_s``): the rate
    command is clamped to the rate limit; the rate follows it with a first-order
    lag ``tau_s`` (exact over ``h``), its change is limited to ``accel_limit * h``
    and the rate to ``rate_limit``; the angle integrates the rate (trapezoid,
    exact for a rate linear over the substep).  Reaching a travel stop holds the
    angle at the stop with zero rate (until the command points away).
    ``read_encoder()`` gives the HAL's reading: the true angle plus white noise,
    quantised to ``encoder_lsb_urad``.  ``rng`` None: a noise-free encoder.
    """

    def __init__(self, beams: int = 2, rng: np.random.Generator | None = None, tau_s: float = 0.05,
                 rate_limit_urad_s: float = 3.0 * URAD_PER_DEG, accel_limit_urad_s2: float = 10.0 * URAD_PER_DEG,
                 az_limits_urad=(-170.0 * URAD_PER_DEG, 170.0 * URAD_PER_DEG),
                 el_limits_urad=(0.0, 180.0 * URAD_PER_DEG), encoder_lsb_urad: float = 1.0,
                 encoder_noise_urad: float = 0.3, az0_urad=0.0, el0_urad=90.0 * URAD_PER_DEG,
                 max_substep_s: float = 0.001):
        if tau_s <= 0 or rate_limit_urad_s <= 0 or accel_limit_urad_s2 <= 0 or max_substep_s <= 0:
            raise ValueError("tau, rate and acceleration limits and the substep must be > 0")
        self.beams = beams
        self.rng = rng
        self.tau = tau_s
        self.rate_limit = float(rate_limit_urad_s)
        self.accel_limit = float(accel_limit_urad_s2)
        self.lo = np.array([az_limits_urad[0], el_limits_urad[0]], dtype=np.float64)
        self.hi = np.array([az_limits_urad[1], el_limits_urad[1]], dtype=np.float64)
        if np.any(self.lo >= self.hi):
            raise ValueError("travel limits must be (low, high) with low < high")
        self.lsb = float(encoder_lsb_urad)
        self.noise = float(encoder_noise_urad) if rng is not None else 0.0
        self.max_substep = max_substep_s
        self.angle = np.stack([_per_beam(az0_urad, beams), _per_beam(el0_urad, beams)], axis=1)
        self.angle = np.clip(self.angle, self.lo, self.hi)
        self.rate = np.zeros((beams, 2))
        self.cmd = np.zeros((beams, 2))
        self.at_stop = np.zeros((beams, 2), dtype=bool)
        self.stop_hits = 0  # substeps that ended on a stop while driving into it

    @property
    def az_urad(self) -> np.ndarray:
        return self.angle[:, 0].copy()

    @property
    def el_urad(self) -> np.ndarray:
        return self.angle[:, 1].copy()

    @property
    def rate_az_urad_s(self) -> np.ndarray:
        return self.rate[:, 0].copy()

    @property
    def rate_el_urad_s(self) -> np.ndarray:
        return self.rate[:, 1].copy()

    def step(self, dt_s: float, rate_cmd_az, rate_cmd_el, trace=None) -> tuple[np.ndarray, np.ndarray]:
        """Hold the rate commands (urad/s, per beam or scalar) for ``dt_s``; return the true (az, el) in urad.

        ``trace``: a list that receives the angles at the end of every substep, as nested lists of
        plain floats (``[[az, el] per beam]``), for a caller that needs the motion inside ``dt_s``
        (the lock-step runner's 1 ms line of sight)."""
        if dt_s <= 0:
            raise ValueError("dt_s must be > 0")
        n = max(1, int(math.ceil(dt_s / self.max_substep - 1e-9)))
        h = dt_s / n
        lag = math.exp(-h / self.tau)
        dv = self.accel_limit * h
        rl = self.rate_limit
        # the arithmetic runs on plain floats, axis by axis: a numpy call on these 2 x 2 arrays costs
        # more than the arithmetic (the results are the same, operation for operation)
        az, el = _per_beam(rate_cmd_az, self.beams).tolist(), _per_beam(rate_cmd_el, self.beams).tolist()
        cmd = [[_clamp(u, -rl, rl) for u in pair] for pair in zip(az, el)]
        angle, rate = self.angle.tolist(), self.rate.tolist()
        lo, hi = self.lo.tolist(), self.hi.tolist()
        at_stop = [[False, False] for _ in range(self.beams)]
        paths = [[[], []] for _ in range(self.beams)] if trace is not None else None
        for b in range(self.beams):
            for ax in (0, 1):
                angle[b][ax], rate[b][ax], at_stop[b][ax], hits = _gimbal_axis(
                    angle[b][ax], rate[b][ax], cmd[b][ax], lo[ax], hi[ax], n, h, lag, dv, rl,
                    paths[b][ax] if paths is not None else None)
                self.stop_hits += hits
        self.cmd = np.array(cmd)
        self.angle = np.array(angle)
        self.rate = np.array(rate)
        self.at_stop = np.array(at_stop)
        if trace is not None:
            trace.extend([[p[0][i], p[1][i]] for p in paths] for i in range(n))
        return self.az_urad, self.el_urad

    def read_encoder(self) -> tuple[np.ndarray, np.ndarray]:
        """Encoder angles (az, el) per beam, int64 urad, as the HAL reports them."""
        a = self.angle
        if self.rng is not None and self.noise > 0:
            a = a + self.rng.normal(0.0, self.noise, a.shape)
        q = (np.round(a / self.lsb) * self.lsb).astype(np.int64)
        return q[:, 0], q[:, 1]


def _clamp(x: float, lo: float, hi: float) -> float:
    """``np.clip`` of one float, bit for bit: ``max`` then ``min``, a tie giving the bound as numpy
    does against array bounds (against scalar bounds numpy keeps ``x`` on a tie; the two can differ
    only in the sign of a zero at a zero bound)."""
    x = x if x > lo else lo
    return x if x < hi else hi


def _gimbal_axis(angle: float, rate: float, cmd: float, lo: float, hi: float, n: int, h: float, lag: float,
                 dv: float, rate_limit: float, path: list | None):
    """``n`` substeps of ``h`` of one gimbal axis (GimbalPlant.step's model, in plain floats).

    Returns ``(angle, rate, at_stop, stop_hits)`` at the end; ``path`` (a list or None) receives
    the angle after each substep."""
    hits = 0
    at_stop = False
    for _ in range(n):
        target = cmd + (rate - cmd) * lag  # first-order lag, exact over h
        d = target - rate
        d = d if d > -dv else -dv  # acceleration limit (_clamp, inlined: this loop is the hot path)
        d = d if d < dv else dv
        new = rate + d
        new = new if new > -rate_limit else -rate_limit  # rate limit
        new = new if new < rate_limit else rate_limit
        ang = angle + 0.5 * (rate + new) * h  # trapezoid
        at_hi = ang >= hi
        at_lo = ang <= lo
        ang = ang if ang > lo else lo  # travel stops
        ang = ang if ang < hi else hi
        if (at_hi and new >= 0) or (at_lo and new <= 0):  # driving into a stop: held there
            new = 0.0
            if cmd != 0:
                hits += 1
        at_stop = at_hi or at_lo
        angle = ang
        rate = new
        if path is not None:
            path.append(ang)
    return angle, rate, at_stop, hits


# ---------------------------------------------------------------------------
# beacon sensors
# ---------------------------------------------------------------------------
class _FrameSensor:
    """A framing beacon sensor of one beam, stepped once per runner tick.

    ``step(x_true_nrad, y_true_nrad)`` is called every tick with the true
    offset of the beacon in the sensor's frame.  A frame is exposed on tick
    ``ceil(j * ticks_per_frame)`` for frame ``j`` = 0, 1, 2, ...; each exposure
    measures the offset (the value on that tick, or with ``average_exposure`` the
    mean over the ticks since the previous frame), adds white noise of ``nea``
    per axis and decides whether the beacon is seen: inside the square field
    ``|x|, |y| <= fov`` and not in a dropout.  The measurement comes out
    ``latency_frames`` frames later, on the tick that exposes that later frame:
    ``step`` then returns ``(x_nrad, y_nrad, seen)`` (ints, bool; x = y = 0 when
    not seen), the arguments of ``hal.fake.FakeBeaconSensor.publish``, and
    ``None`` on ticks without a new frame.

    Dropouts: ``dropout(t_start_s, t_end_s)`` marks frames exposed in
    ``[t_start_s, t_end_s)`` as not seen (clouds, a blocked beacon);
    ``dropout_probability`` loses each frame independently.  Times count from
    the sensor's first tick (tick ``k`` is at ``k * tick_s``).  Every frame draws
    the same random numbers (two normals, one uniform) whether seen or not, so
    dropouts do not shift the noise sequence.
    """

    def __init__(self, rng: np.random.Generator, frame_hz: float, tick_s: float, nea_nrad: float,
                 fov_nrad: float, latency_frames: int = 1, average_exposure: bool = False,
                 dropout_probability: float = 0.0):
        if frame_hz <= 0 or tick_s <= 0 or nea_nrad < 0 or fov_nrad <= 0 or latency_frames < 0:
            raise ValueError("frame_hz, tick_s, fov must be > 0; nea, latency >= 0")
        if frame_hz * tick_s > 1.0 + 1e-9:
            raise ValueError("at most one frame per tick")
        if not 0.0 <= dropout_probability <= 1.0:
            raise ValueError("dropout_probability must be in [0, 1]")
        self.rng = rng
        self.frame_hz = frame_hz
        self.tick_s = tick_s
        self.ticks_per_frame = 1.0 / (frame_hz * tick_s)
        self.nea = float(nea_nrad)
        self.fov = float(fov_nrad)
        self.latency = int(latency_frames)
        self.average_exposure = average_exposure
        self.dropout_probability = dropout_probability
        self.windows: list[tuple[float, float]] = []
        self.tick = 0  # ticks stepped so far
        self.frames = 0  # frames exposed
        self.reports = 0  # frames reported
        self._next_tick = 0
        self._acc_x = self._acc_y = 0.0  # sums over the exposure (average_exposure)
        self._acc_n = 0
        self._pipe: deque = deque()

    @property
    def t_s(self) -> float:
        """Time of the next tick."""
        return self.tick * self.tick_s

    def dropout(self, t_start_s: float, t_end_s: float) -> None:
        """Frames exposed in [t_start_s, t_end_s) do not see the beacon."""
        if t_end_s <= t_start_s:
            raise ValueError("dropout window must have t_end_s > t_start_s")
        self.windows.append((float(t_start_s), float(t_end_s)))

    def _frame_tick(self, j: int) -> int:
        return int(math.ceil(j * self.ticks_per_frame - 1e-9))

    def step(self, x_true_nrad: float, y_true_nrad: float):
        # called every tick for every sensor: plain floats throughout (no numpy scalars), the random
        # draws one call each per frame, in the documented order
        k = self.tick
        self.tick = k + 1
        if self.average_exposure:
            self._acc_x += x_true_nrad
            self._acc_y += y_true_nrad
            self._acc_n += 1
        if k < self._next_tick:
            return None
        if self.average_exposure:
            x = self._acc_x / self._acc_n
            y = self._acc_y / self._acc_n
            self._acc_x = self._acc_y = 0.0
            self._acc_n = 0
        else:
            x, y = float(x_true_nrad), float(y_true_nrad)
        rng = self.rng
        nx, ny = rng.standard_normal(2).tolist()
        lost = rng.random() < self.dropout_probability
        fov = self.fov
        seen = abs(x) <= fov and abs(y) <= fov and not lost
        if seen and self.windows:
            t = k * self.tick_s
            seen = not any(a <= t < b for a, b in self.windows)
        if seen:
            nea = self.nea
            meas = (round(x + nea * nx), round(y + nea * ny), True)  # round(float): an int, half to even
        else:
            meas = (0, 0, False)
        self.frames += 1
        self._next_tick = self._frame_tick(self.frames)
        pipe = self._pipe
        pipe.append(meas)
        if len(pipe) > self.latency:
            self.reports += 1
            return pipe.popleft()
        return None


class BeaconCamera(_FrameSensor):
    """Coarse wide-field beacon camera of one beam (defaults: 50 Hz, 5 urad rms, +/- 35 mrad, 1 frame late)."""

    def __init__(self, rng: np.random.Generator, tick_s: float = 0.001, frame_hz: float = 50.0,
                 nea_nrad: float = 5000.0, fov_nrad: float = 35_000_000.0, latency_frames: int = 1,
                 average_exposure: bool = False, dropout_probability: float = 0.0):
        super().__init__(rng, frame_hz, tick_s, nea_nrad, fov_nrad, latency_frames, average_exposure,
                         dropout_probability)


class FineBeaconSensor(_FrameSensor):
    """Fine beacon sensor of one beam (defaults: 1 kHz, 0.3 urad rms, +/- 200 urad, 1 frame late)."""

    def __init__(self, rng: np.random.Generator, tick_s: float = 0.001, frame_hz: float = 1000.0,
                 nea_nrad: float = 300.0, fov_nrad: float = 200_000.0, latency_frames: int = 1,
                 average_exposure: bool = False, dropout_probability: float = 0.0):
        super().__init__(rng, frame_hz, tick_s, nea_nrad, fov_nrad, latency_frames, average_exposure,
                         dropout_probability)


# ---------------------------------------------------------------------------
# link efficiency
# ---------------------------------------------------------------------------
def pointing_efficiency(error_urad, divergence_urad, full_angle: bool = True):
    """Far-field intensity factor of a Gaussian beam pointed ``error_urad`` off the receiver.

    ``eta = exp(-2 theta^2 / theta_0^2)``, ``theta`` the radial pointing error
    and ``theta_0`` the far-field divergence half-angle at which the intensity
    falls to 1/e^2 (the Gaussian beam's ``lambda / (pi w_0)``).

    ``divergence_urad`` is by default (``full_angle=True``) the FULL angle between
    the 1/e^2 intensity points, so ``theta_0 = divergence_urad / 2``: Micius'
    "about 10 urad divergence" (REFERENCES) is taken as theta_0 = 5 urad, giving
    0.923 at 1 urad error, exp(-1/2) = 0.607 at 2.5 urad and exp(-2) = 0.135 at
    5 urad.  With ``full_angle=False`` ``divergence_urad`` is theta_0 itself; if
    "10 urad" meant that half-angle the losses (in dB, proportional to
    1/theta_0^2) would be four times smaller: 0.980 at 1 urad.  (Were it the
    full width at half maximum, theta_0 = 10 / sqrt(2 ln 2) = 8.5 urad.)

    Works on scalars and arrays; returns a float or an array like ``error_urad``.
    """
    theta0 = np.asarray(divergence_urad, dtype=np.float64) * (0.5 if full_angle else 1.0)
    if np.any(theta0 <= 0):
        raise ValueError("divergence must be > 0")
    e = np.asarray(error_urad, dtype=np.float64)
    out = np.exp(-2.0 * e ** 2 / theta0 ** 2)
    return float(out) if out.ndim == 0 else out


def mean_pointing_efficiency(sigma_urad_per_axis, divergence_urad, full_angle: bool = True):
    """Expected ``pointing_efficiency`` for zero-mean Gaussian jitter of ``sigma`` per axis.

    The radial error is Rayleigh-distributed, and
    ``E[exp(-2 theta^2 / theta_0^2)] = 1 / (1 + 4 sigma^2 / theta_0^2)``.
    Same divergence convention as ``pointing_efficiency``.
    """
    theta0 = np.asarray(divergence_urad, dtype=np.float64) * (0.5 if full_angle else 1.0)
    s = np.asarray(sigma_urad_per_axis, dtype=np.float64)
    out = 1.0 / (1.0 + 4.0 * s ** 2 / theta0 ** 2)
    return float(out) if out.ndim == 0 else out
