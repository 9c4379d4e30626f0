"""Liquid-crystal retarder loop: keep the D/A correlation at its maximum as polarisation drifts.

Thermal birefringence in the source turns the state's phase ``phi``; the D/A
correlation falls as ``V cos(phi + Gamma)`` while H/V is untouched.  A nematic
retarder adds ``Gamma``, a steep and nonlinear function of its drive, so the
loop works in retardance: the cell's ground calibration (``CAL_DRIVE_U16`` ->
``CAL_RETARDANCE_MRAD``, monotonic, interpolated linearly) turns a retardance
command into a drive word, and the loop gain is the same everywhere on the
curve.  A calibration error only scales the gain: the loop measures, it does not
trust the table for the optimum.

1. SWEEP: ``sweep_points`` retardances over one wave, one D/A measurement each
   (the source monitor holds the D/A basis meanwhile); track from the best.
   This finds the right fringe from any initial phase.
2. TRACK (extremum seeking): alternate D/A measurements at ``theta + dither``
   and ``theta - dither``; after each pair move ``theta`` by
   ``gain * (E+ - E-)``.  Near the optimum ``E+ - E- = 2 dither V (theta* - theta)``,
   so the default gain (3.5 rad per unit) closes about half the error per pair.
   The dither costs ``1 - cos(dither)`` of visibility (0.25 % for 70 mrad).
3. The calibrated range spans more than one wave, so when ``theta`` nears an
   end of it the loop moves it by exactly one wave (2 pi), where the same
   correlation is found: drift is followed without limit and without a new sweep.

The sign matters: the Bell state ``(|HV> + |VH>)/sqrt(2)`` is correlated in D/A
(E = +V), so the loop maximises the signed correlation; the other maximum of
``|E|`` would flip the D/A key bits at the ground.  Integers (mrad, drive LSB)
except the correlation itself; one step per D/A measurement, every two seconds.
"""

from bus.compat import const

OFF = const(0)
SWEEP = const(1)
TRACK = const(2)
WAVE_MRAD = const(6283)

# Ground calibration of the cell at 25 C: drive word and settled retardance (mrad), retardance
# falling with drive.  Here: sim/polarisation.py's default cell (tests/test_retarder_calibration.py
# checks the table against the model); a flight cell is measured on a polarimeter before integration.
CAL_DRIVE_U16 = (6190, 7291, 7957, 8525, 9052, 9559, 10061, 10567, 11084, 11621, 12184, 12781, 13422,
                 14118, 14884, 15737, 16705, 17824, 19146, 20756, 22794, 25512, 29441, 35944)
CAL_RETARDANCE_MRAD = (7834, 7534, 7234, 6934, 6634, 6334, 6034, 5734, 5434, 5134, 4834, 4534, 4234,
                       3934, 3634, 3334, 3034, 2734, 2434, 2134, 1834, 1534, 1234, 934)


def drive_for_mrad(theta_mrad, drives=CAL_DRIVE_U16, mrads=CAL_RETARDANCE_MRAD):
    """Drive word giving ``theta_mrad`` of retardance (linear between calibration points, clamped)."""
    if theta_mrad >= mrads[0]:
        return drives[0]
    n = len(mrads)
    for i in range(1, n):
        if theta_mrad >= mrads[i]:
            g0 = mrads[i - 1]
            d0 = drives[i - 1]
            return d0 + (drives[i] - d0) * (g0 - theta_mrad) // (g0 - mrads[i])
    return drives[n - 1]


class RetarderLoop:
    def __init__(self, drive_out, sweep_points=16, dither_mrad=70, gain_mrad=3500, margin_mrad=150):
        self._out = drive_out  # AnalogOut lc_retarder
        self.sweep_points = sweep_points
        self.dither_mrad = dither_mrad
        self.gain_mrad = gain_mrad  # retardance move per unit of correlation difference
        self.margin_mrad = margin_mrad  # distance from the calibrated ends that triggers a wave jump
        self.lo_mrad = CAL_RETARDANCE_MRAD[-1]
        self.hi_mrad = CAL_RETARDANCE_MRAD[0]
        self.state = OFF
        self.theta_mrad = self.hi_mrad  # retardance command (tracking centre)
        self.best_corr = -2.0
        self.steps = 0  # tracking steps made
        self.wave_jumps = 0
        self.output_u16 = 0
        self._i = 0
        self._best_mrad = 0
        self._plus = True  # the measurement in flight was taken at theta + dither
        self._e_plus = 0.0
        self._out.write_u16(0)

    @property
    def sweeping(self):
        return self.state == SWEEP

    def _command(self, theta_mrad):
        d = drive_for_mrad(theta_mrad)
        self.output_u16 = d
        self._out.write_u16(d)

    def _sweep_mrad(self, i):
        """One wave of retardance, centred in the calibrated range."""
        return (self.hi_mrad + self.lo_mrad + WAVE_MRAD) // 2 - i * WAVE_MRAD // self.sweep_points

    def start(self):
        """Sweep, then track (on first light, or when asked by telecommand)."""
        self.state = SWEEP
        self._i = 0
        self.best_corr = -2.0
        self._command(self._sweep_mrad(0))

    def stop(self):
        """Hold (pump off: nothing to measure); an unfinished sweep is abandoned."""
        if self.state == SWEEP:
            self.state = OFF
        elif self.state == TRACK:
            self._command(self.theta_mrad)

    def resume(self):
        """Continue tracking from where it held, or sweep when never locked."""
        if self.state == OFF:
            self.start()
        elif self.state == TRACK:
            self._plus = True
            self._command(self.theta_mrad + self.dither_mrad)

    def _wrap(self, theta):
        """Keep the command inside the calibrated range, moving by whole waves."""
        if theta > self.hi_mrad - self.margin_mrad:
            theta -= WAVE_MRAD
            self.wave_jumps += 1
        elif theta < self.lo_mrad + self.margin_mrad:
            theta += WAVE_MRAD
            self.wave_jumps += 1
        return theta

    def on_da(self, correlation):
        """A D/A correlation measured at the present output: choose the next output."""
        if self.state == SWEEP:
            theta = self._sweep_mrad(self._i)
            if correlation > self.best_corr:
                self.best_corr = correlation
                self._best_mrad = theta
            self._i += 1
            if self._i < self.sweep_points:
                self._command(self._sweep_mrad(self._i))
                return
            self.state = TRACK
            t = self._best_mrad
            self.theta_mrad = t
            self._plus = True
            self._command(t + self.dither_mrad)
            return
        if self.state != TRACK:
            return
        if self._plus:
            self._e_plus = correlation
            self._plus = False
            self._command(self.theta_mrad - self.dither_mrad)
            return
        self.theta_mrad = self._wrap(self.theta_mrad + int(self.gain_mrad * (self._e_plus - correlation)))
        self.steps += 1
        self._plus = True
        self._command(self.theta_mrad + self.dither_mrad)
