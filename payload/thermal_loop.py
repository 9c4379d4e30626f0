"""Crystal temperature loop (10 Hz): thermistor bridge -> TEC drive.

The PPKTP crystal sits on a thermo-electric cooler; its NTC thermistor is read
in a balanced bridge by the precision ADC.  Near the set point the bridge is
linear: ``T = T_ref + (v_ref - v) / uv_per_mk`` (an NTC's resistance falls as
it warms).

Set-point slew: the loop regulates to a reference ``ref_mk`` that moves towards
the commanded ``set_point_mk`` by at most ``slew_mk`` per step (10 mK per 100 ms:
6 K/min, gentle on the crystal and its bond), starting from the measured
temperature when the loop is enabled (bumpless).  ``held`` is True once the
reference has arrived: the lock band and the +/- 10 mK requirement apply only
then.  PI with anti-windup; the photon-source issue adds the auto-tune scan,
which moves the set point through the same slew.

Integers throughout (rp2 boards compute floats in single precision, too coarse
for millikelvins): temperatures in mK, drive in u16 with 32768 = no current
(bipolar TEC driver), PI gains in drive LSB per mK and per mK per step.
"""

from bus.compat import const

DRIVE_ZERO = const(32768)
DRIVE_SPAN = const(32767)
ERROR_LIMIT_MK = const(100000)  # error clamp: keeps kp * err a small int


def bridge_temperature_mk(uv, t_ref_mk, v_ref_uv, uv_per_mk):
    """NTC bridge near its balance point: ``T = T_ref + (v_ref - v) / S`` in integer mK."""
    return t_ref_mk + (v_ref_uv - uv) // uv_per_mk


class CrystalThermalLoop:
    def __init__(self, thermistor, tec, set_point_mk=298150, t_ref_mk=298150,
                 v_ref_uv=0, uv_per_mk=40, kp=400, ki=40, slew_mk=10):
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
        self.enabled = False
        self.temp_mk = t_ref_mk  # latest measurement (mK)
        self.error_mk = 0
        self.integ = 0  # integral term, drive LSB, clamped to the drive span
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
        if not self.enabled:
            self.ref_mk = t  # bumpless start: the reference leaves from where the crystal is
        else:
            d = self.set_point_mk - self.ref_mk
            s = self.slew_mk
            self.ref_mk += s if d > s else (-s if d < -s else d)
        err = self.ref_mk - t
        if err > ERROR_LIMIT_MK:
            err = ERROR_LIMIT_MK
        elif err < -ERROR_LIMIT_MK:
            err = -ERROR_LIMIT_MK
        self.error_mk = err
        if not self.enabled:
            self.integ = 0
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
        out = p + integ
        if out > DRIVE_SPAN:
            out = DRIVE_SPAN
        elif out < -DRIVE_SPAN:
            out = -DRIVE_SPAN
        self.integ = integ
        self.drive = DRIVE_ZERO + out
        self._tec.write_u16(self.drive)
