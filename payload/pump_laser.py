"""Pump laser driver: soft-start ramp, optical power loop, interlocks (MicroPython subset).

Runs in the 10 Hz group.  Each step, before anything else, it checks its two
interlocks from this period's readings and cuts the current *in this step* when
one is open: diode current above ``limit_ua`` (current-sense shunt) or diode
case temperature above ``diode_max_mk`` (NTC bridge).  Otherwise, when emission
is allowed, the current set point moves towards its target by at most
``ramp_ua`` per step (soft start), and, when an optical power target is set,
the target current is trimmed by an integral loop on the monitor photodiode so
that the optical power stays put as the diode's threshold drifts with
temperature and age (gain 0.5 uA/uW per step: loop gain 0.5 on a 1 mW/mA diode).  When emission is not allowed the current is zero and the
driver disabled.

Integers throughout: currents in uA (up to ``full_scale_ua`` = 100 mA), the DAC
word computed in units of 10 uA so every product stays a small int
(10,000 x 65,535 < 2**30); optical power in uW from the photodiode's uV with a
calibration in uV per uW.
"""

from bus.compat import const
from payload.thermal_loop import bridge_temperature_mk

IL_PUMP_OVERCURRENT = const(1)  # same bits as payload.source_modes
IL_DIODE_OVERTEMP = const(2)


class PumpLaser:
    def __init__(self, current_out, enable, current_sense, monitor_pd, diode_thermistor,
                 full_scale_ua=100000, sense_uv_per_ma=10000, limit_ua=90000, ramp_ua=2000,
                 diode_max_mk=318150, pd_uv_per_uw=100, power_ki_q8=128,
                 diode_t_ref_mk=298150, diode_v_ref_uv=0, diode_uv_per_mk=40):
        self._out = current_out  # AnalogOut: current set point, full scale = full_scale_ua
        self._enable = enable  # DigitalOut: current switch
        self._sense = current_sense  # AnalogIn: shunt amplifier, sense_uv_per_ma
        self._pd = monitor_pd  # AnalogIn: back-facet photodiode transimpedance, pd_uv_per_uw
        self._ntc = diode_thermistor  # AnalogIn: NTC bridge like the crystal's
        self.full_scale_ua = full_scale_ua
        self.sense_uv_per_ma = sense_uv_per_ma
        self.limit_ua = limit_ua  # over-current interlock threshold
        # the power loop stays this far below the interlock: run at the limit, the sense noise alone
        # would trip it (an aged diode then ends in SAFE instead of a derated power, see payload/fdir.py)
        self.loop_max_ua = limit_ua * 95 // 100
        self.ramp_ua = ramp_ua  # soft-start slew per step (uA per 100 ms)
        self.diode_max_mk = diode_max_mk  # over-temperature interlock threshold
        self.pd_uv_per_uw = pd_uv_per_uw
        self.power_ki_q8 = power_ki_q8  # power loop gain, uA per uW per step in Q8 (128: 0.5)
        self._t_ref_mk = diode_t_ref_mk
        self._v_ref_uv = diode_v_ref_uv
        self._uv_per_mk = diode_uv_per_mk
        self.target_ua = 0  # commanded current (or the power loop's output)
        self.power_target_uw = 0  # 0: no power loop, the current target is used as it is
        self.set_ua = 0  # current set point after the ramp (what the DAC gets)
        self.measured_ua = 0
        self.power_uw = 0
        self.diode_temp_mk = diode_t_ref_mk
        self.interlocks = 0  # IL_* bits open at the last step
        self.trips = 0  # steps that cut the current on an interlock

    def set_current(self, target_ua):
        """Command a current (no power loop); returns False when out of range."""
        if target_ua < 0 or target_ua > self.limit_ua:
            return False
        self.power_target_uw = 0
        self.target_ua = target_ua
        return True

    def set_power(self, power_uw):
        """Hold an optical power with the monitor photodiode loop (0: stop the loop)."""
        if power_uw < 0:
            return False
        self.power_target_uw = power_uw
        return True

    def _write(self, ua):
        self.set_ua = ua
        self._out.write_u16((ua // 10) * 65535 // (self.full_scale_ua // 10))

    def cut(self):
        """Current to zero and the switch open, now."""
        self._enable.set(False)
        self._write(0)

    def step(self, allowed):
        """One control period; returns the IL_* bits open (the current is already cut)."""
        self.measured_ua = self._sense.read_uv() * 1000 // self.sense_uv_per_ma
        self.diode_temp_mk = bridge_temperature_mk(self._ntc.read_uv(), self._t_ref_mk, self._v_ref_uv,
                                                   self._uv_per_mk)
        self.power_uw = self._pd.read_uv() // self.pd_uv_per_uw
        il = 0
        if self.measured_ua > self.limit_ua:
            il |= IL_PUMP_OVERCURRENT
        if self.diode_temp_mk > self.diode_max_mk:
            il |= IL_DIODE_OVERTEMP
        self.interlocks = il
        if il:
            self.trips += 1
            self.cut()
            return il
        if not allowed:
            self.cut()
            return 0
        if self.power_target_uw and self.set_ua == self.target_ua:  # trim only once the ramp has arrived
            t = self.target_ua + ((self.power_ki_q8 * (self.power_target_uw - self.power_uw)) >> 8)
            m = self.loop_max_ua
            self.target_ua = 0 if t < 0 else (m if t > m else t)
        s = self.set_ua
        if s < self.target_ua:
            s = s + self.ramp_ua if s + self.ramp_ua < self.target_ua else self.target_ua
        elif s > self.target_ua:
            s = self.target_ua  # ramp-down is immediate
        self._enable.set(True)
        self._write(s)
        return 0
