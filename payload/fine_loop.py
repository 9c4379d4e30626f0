"""Fine pointing loop: beacon offset -> fast steering mirror (fixed point).

One instance per beam, run by the 1 kHz rate group.  Each new fine-sensor frame
gives the residual line-of-sight error ``e`` (nrad) after the mirror; the mirror
command integrates it: ``u[k] = u[k-1] + ki * e[k]``, the classic type-1 loop
for a position actuator behind a pure-delay sensor.  With ``ki`` = 0.5 at 1 kHz
and one frame of latency the crossover sits near 80 Hz (phase margin about
60 deg), enough for the reaction-wheel band (15-30 Hz).  The micro-vibration
compensation of the pointing issue adds to this loop; this is its feedback core.

Q-formats (every intermediate is a MicroPython small int, |x| < 2**30):
- ``e`` is clamped to +/- ``E_LIMIT_NRAD`` (2e5, the fine sensor's field);
- gains are Q8 (256 = 1.0, at most 1024): ``ki_q8 * e`` <= 1024 * 2e5 = 2.0e8;
- ``u`` is clamped to the mirror's travel, +/- 1e6 nrad.
``step()`` allocates nothing: it reads into an array owned by the loop.
"""

from array import array

from bus.compat import const
from hal.interface import SteeringMirror

E_LIMIT_NRAD = const(200000)  # fine sensor field: +/- 200 urad
GAIN_MAX_Q8 = const(1024)


class FinePointingLoop:
    def __init__(self, sensor, mirror, ki_q8=128):
        self._sensor = sensor
        self._mirror = mirror
        self._frame = array("i", [0, 0, 0])  # x_nrad, y_nrad, seq from the sensor
        self.ki_q8 = 0
        self.set_gain(ki_q8)
        self.enabled = False  # False: mirror held where it is
        self.u_x_nrad = 0  # mirror command
        self.u_y_nrad = 0
        self.frames = 0  # sensor frames used
        self.no_frame = 0  # steps without a new frame (dropout or lost beacon)
        self.sum_abs_err_nrad = 0  # sum of |e| over both axes since reset_stats()
        self.max_abs_err_nrad = 0
        self.saturations = 0  # steps where the command hit the travel limit

    def set_gain(self, ki_q8):
        if ki_q8 < 0 or ki_q8 > GAIN_MAX_Q8:
            raise ValueError("ki_q8 %d outside 0..%d" % (ki_q8, GAIN_MAX_Q8))
        self.ki_q8 = ki_q8

    @property
    def mean_abs_err_nrad(self):
        """Mean |error| per axis over the frames since reset_stats() (0 without frames)."""
        return self.sum_abs_err_nrad // (2 * self.frames) if self.frames else 0

    def reset_stats(self):
        self.frames = 0
        self.no_frame = 0
        self.sum_abs_err_nrad = 0
        self.max_abs_err_nrad = 0

    def step(self):
        f = self._frame
        if not self._sensor.read_into(f):
            self.no_frame += 1
            return
        ex = f[0]
        ey = f[1]
        lim = E_LIMIT_NRAD
        if ex > lim:
            ex = lim
        elif ex < -lim:
            ex = -lim
        if ey > lim:
            ey = lim
        elif ey < -lim:
            ey = -lim
        self.frames += 1
        ax = ex if ex >= 0 else -ex
        ay = ey if ey >= 0 else -ey
        if self.sum_abs_err_nrad < 0x20000000:  # stays a small int; HK resets it at 1 Hz
            self.sum_abs_err_nrad += ax + ay
        if ax > self.max_abs_err_nrad:
            self.max_abs_err_nrad = ax
        if ay > self.max_abs_err_nrad:
            self.max_abs_err_nrad = ay
        if not self.enabled:
            return
        travel = SteeringMirror.TRAVEL_NRAD
        ux = self.u_x_nrad + ((self.ki_q8 * ex) >> 8)
        uy = self.u_y_nrad + ((self.ki_q8 * ey) >> 8)
        sat = False
        if ux > travel:
            ux = travel
            sat = True
        elif ux < -travel:
            ux = -travel
            sat = True
        if uy > travel:
            uy = travel
            sat = True
        elif uy < -travel:
            uy = -travel
            sat = True
        if sat:
            self.saturations += 1
        self.u_x_nrad = ux
        self.u_y_nrad = uy
        self._mirror.set_nrad(ux, uy)
