"""Crystal temperature loop (10 Hz): thermistor bridge -> TEC drive.

The PPKTP crystal sits on a thermo-electric cooler; its NTC thermistor is read
in a balanced bridge by the precision ADC.  Near the set point the bridge is
linear: ``T = T_ref + (v_ref - v) / uv_per_mk`` (an NTC's resistance falls as
it warms).

Set-point slew: the loop regulates to a reference ``ref_mk`` that moves towards
the commanded ``set_point_mk`` by at most ``slew_mk`` per step (10 mK per 100 ms:
6 K/min, gentle on the crystal and its bond), starting from the measured
temperature when the loop is enabled (bumpless), and decelerating over the last
80 mK (1/8 of the remaining distance per step, at least 1 mK): a reference that
stops dead leaves the crystal overshooting by about 23 mK for 2 s, a
decelerating one by about 5 mK.  ``held`` is True once the
reference has arrived: the lock band and the +/- 10 mK requirement apply only
then.  PI with anti-windup; the photon-source issue adds the auto-tune scan,
which moves the set point through the same slew.

Derivative ``kd`` (drive LSB per mK/step, parameter ``crystal.kd``, 0..4000) acts
on the MEASURED temperature, not on the error, so set-point steps, slews and
auto-tune moves never kick the drive.  The thermistor's 0.5 mK rms readout noise
is low-passed first: a first-order filter of the reading in Q6 mK that moves
1/8 of the way per step (time constant about 0.8 s); its per-step increment is the
filtered rate (exactly 0 once the reading is steady).  The filter follows the
reading while the loop is disabled, so enabling it is bumpless here too.

Default ``kd = 0``: on this plant the derivative does not earn its keep
(tests/test_thermal_orbit.py).  The PI alone holds the crystal within 2 mK
(2.5 mK peak to peak) through the orbit's sunlight/eclipse swing; kd = 1000
gives 2.0 mK (2.7 mK).  A derivative on the measurement acts as extra heat
capacity: it lowers the peak of a fast disturbance (a 0.15 W step: 18 -> 16 mK)
but raises the overshoot where a slew stops dead (1 K move with the drive
unsaturated: 23 -> 27 mK; it only looks better, 24 -> 15 mK, where the drive
saturates during the slew), and it adds 40 % drive noise.  That slew-end
overshoot is what the decelerating reference above removes.

Integers throughout (rp2 boards compute floats in single precision, too coarse
for millikelvins): temperatures in mK, drive in u16 with 32768 = no current
(bipolar TEC driver), gains in drive LSB per mK (kp), per mK per step (ki) and
per mK/step of measured change (kd).
"""

from bus.compat import const

DRIVE_ZERO = const(32768)
DRIVE_SPAN = const(32767)
ERROR_LIMIT_MK = const(100000)  # error clamp: keeps kp * err a small int
APPROACH_SHIFT = const(3)  # the reference covers 1/8 of the last stretch per step
D_SHIFT = const(6)  # derivative filter state in Q6 mK (1/64 mK)
D_FILTER_SHIFT = const(3)  # derivative low-pass moves 1/8 of the way per step: tau = 0.8 s
D_RATE_LIMIT_Q6 = const(64000)  # |filtered rate| clamp, 1 K/step in Q6: kd * rate small for kd < 16000


def bridge_temperature_mk(uv, t_ref_mk, v_ref_uv, uv_per_mk):
    """NTC bridge near its balance point: ``T = T_ref + (v_ref - v) / S`` in integer mK."""
    return t_ref_mk + (v_ref_uv - uv) // uv_per_mk


class CrystalThermalLoop:
    def __init__(self, thermistor, tec, set_point_mk=298150, t_ref_mk=298150,
                 v_ref_uv=0, uv_per_mk=40, kp=400, ki=40, kd=0, slew_mk=10):
        self._thermistor = thermistor
        self._tec = tec
        self.set_point_mk = set_point_mk  # commanded crystal set point (mK)
        self.ref_mk = set_point_mk  # reference the loop follows, slewing to the set point (mK)
        self.slew_mk = slew_mk  # largest reference move per step (mK)
        self.t_ref_mk = t_ref_mk  # bridge balance temperature (mK)
        self.v_ref_uv = v_ref_uv  # bridge output at t_ref (uV)
        self.uv_per_mk = uv_per_mk  # bridge sensitivity magnitude (uV/mK)
        self.kp = kp  # drive LSB per mK of error
        self.ki = ki  # drive LSB per mK per step
        self.kd = kd  # drive LSB per mK/step of measured change (0..4000)
        self.enabled = False
        self.temp_mk = t_ref_mk  # latest measurement (mK)
        self.error_mk = 0
        self.integ = 0  # integral term, drive LSB, clamped to the drive span
        self._temp_q6 = 0  # low-passed (temperature - t_ref), Q6 mK: the derivative's state
        self.rate_q6 = 0  # filtered measured change, Q6 mK per step
        self.drive = DRIVE_ZERO  # last u16 written

    @property
    def held(self):
        """True when the reference has reached the set point (no slew in progress)."""
        return self.ref_mk == self.set_point_mk

    @property
    def set_point_error_mk(self):
        """Set point minus temperature: what locking is judged on."""
        return self.set_point_mk - self.temp_mk

    def temperature_mk(self, uv):
        return bridge_temperature_mk(uv, self.t_ref_mk, self.v_ref_uv, self.uv_per_mk)

    def step(self):
        t = self.temperature_mk(self._thermistor.read_uv())
        self.temp_mk = t
        m = t - self.t_ref_mk  # derivative input, clamped like the error (absurd readings)
        if m > ERROR_LIMIT_MK:
            m = ERROR_LIMIT_MK
        elif m < -ERROR_LIMIT_MK:
            m = -ERROR_LIMIT_MK
        m <<= D_SHIFT
        if not self.enabled:
            self.ref_mk = t  # bumpless start: the reference leaves from where the crystal is
        else:
            d = self.set_point_mk - self.ref_mk
            # at most slew_mk a step, and 1/8 of the remaining distance near the end (at
            # least 1 mK): a reference that stops dead makes the crystal overshoot ~23 mK
            s = (d if d > 0 else -d) >> APPROACH_SHIFT
            if s > self.slew_mk:
                s = self.slew_mk
            elif s < 1:
                s = 1
            self.ref_mk += s if d > s else (-s if d < -s else d)
        err = self.ref_mk - t
        if err > ERROR_LIMIT_MK:
            err = ERROR_LIMIT_MK
        elif err < -ERROR_LIMIT_MK:
            err = -ERROR_LIMIT_MK
        self.error_mk = err
        if not self.enabled:
            self.integ = 0
            self._temp_q6 = m  # the derivative starts from the crystal too: no kick on enable
            self.rate_q6 = 0
            self.drive = DRIVE_ZERO
            self._tec.write_u16(DRIVE_ZERO)
            return
        p = self.kp * err
        integ = self.integ + self.ki * err
        # anti-windup: the integral alone never exceeds what the driver can give
        if integ > DRIVE_SPAN:
            integ = DRIVE_SPAN
        elif integ < -DRIVE_SPAN:
            integ = -DRIVE_SPAN
        # derivative on the measurement: the low-pass filter's increment is the filtered rate
        rate = (m - self._temp_q6) >> D_FILTER_SHIFT
        self._temp_q6 += rate
        if rate > D_RATE_LIMIT_Q6:
            rate = D_RATE_LIMIT_Q6
        elif rate < -D_RATE_LIMIT_Q6:
            rate = -D_RATE_LIMIT_Q6
        self.rate_q6 = rate
        out = p + integ - ((self.kd * rate) >> D_SHIFT)
        if out > DRIVE_SPAN:
            out = DRIVE_SPAN
        elif out < -DRIVE_SPAN:
            out = -DRIVE_SPAN
        self.integ = integ
        self.drive = DRIVE_ZERO + out
        self._tec.write_u16(self.drive)
