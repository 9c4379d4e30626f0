"""Crystal temperature loop (10 Hz): thermistor bridge -> TEC drive.

The PPKTP crystal sits on a thermo-electric cooler; its NTC thermistor is read
in a balanced bridge by the precision ADC.  Near the set point the bridge is
linear: ``T = T_ref + (v_ref - v) / uv_per_mk`` (an NTC's resistance falls as
it warms).  The photon-source issue replaces this with the full controller
(Steinhart-Hart calibration, set-point slew, auto-tune); this is the scheduler's
10 Hz task and the thermal plant's first client.

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
                 v_ref_uv=0, uv_per_mk=40, kp=400, ki=40):
        self._thermistor = thermistor
        self._tec = tec
        self.set_point_mk = set_point_mk  # crystal set point (mK)
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

    def temperature_mk(self, uv):
        return bridge_temperature_mk(uv, self.t_ref_mk, self.v_ref_uv, self.uv_per_mk)

    def step(self):
        t = self.temperature_mk(self._thermistor.read_uv())
        self.temp_mk = t
        err = self.set_point_mk - t
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
