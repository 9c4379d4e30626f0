"""Pump laser driver: ramp, interlocks cutting the current in the same step, power loop."""

from hal.fake import FakeAnalogIn, FakeAnalogOut, FakeDigitalOut, VirtualClock
from payload import pump_laser as pl
from tests.flight.support import garbage_bytes


class Diode:
    """A toy laser diode behind the fakes: sense follows the DAC, light above threshold."""

    def __init__(self, threshold_ua=35000, slope_uw_per_ma=1000):
        clock = VirtualClock()
        self.out = FakeAnalogOut()
        self.enable = FakeDigitalOut()
        self.sense = FakeAnalogIn(clock)
        self.pd = FakeAnalogIn(clock)
        self.ntc = FakeAnalogIn(clock)  # 0 uV: 25.000 C
        self.threshold_ua = threshold_ua
        self.slope = slope_uw_per_ma
        self.laser = pl.PumpLaser(self.out, self.enable, self.sense, self.pd, self.ntc)

    def current_ua(self):
        return self.out.value * 100000 // 65535 if self.enable.on else 0

    def settle(self):
        i = self.current_ua()
        self.sense.uv = i * 10000 // 1000  # 10 mV/mA shunt amplifier
        p = (i - self.threshold_ua) * self.slope // 1000 if i > self.threshold_ua else 0
        self.pd.uv = p * 100  # 100 uV per uW

    def run(self, n, allowed=True):
        bits = 0
        for _ in range(n):
            bits |= self.laser.step(allowed)
            self.settle()
        return bits


def test_soft_start_ramps_at_the_limit():
    d = Diode()
    assert d.laser.set_current(60000)
    d.run(1)
    assert d.laser.set_ua == 2000 and d.enable.on
    d.run(14)
    assert d.laser.set_ua == 30000
    d.run(20)
    assert d.laser.set_ua == 60000 and abs(d.current_ua() - 60000) <= 20


def test_not_allowed_means_zero_and_disabled():
    d = Diode()
    d.laser.set_current(60000)
    d.run(40)
    d.run(1, allowed=False)
    assert d.out.value == 0 and not d.enable.on and d.laser.set_ua == 0


def test_over_current_cuts_in_the_same_step():
    d = Diode()
    d.laser.set_current(60000)
    d.run(40)
    d.sense.uv = 95 * 10000  # 95 mA: a shorted driver stage
    bits = d.laser.step(True)
    assert bits == pl.IL_PUMP_OVERCURRENT
    assert d.out.value == 0 and not d.enable.on and d.laser.trips == 1


def test_diode_over_temperature_cuts():
    d = Diode()
    d.laser.set_current(50000)
    d.run(30)
    d.ntc.uv = -40 * 25000  # 25 K above 25 C: 50 C case
    assert d.laser.step(True) == pl.IL_DIODE_OVERTEMP and d.out.value == 0
    assert d.laser.diode_temp_mk == 323150


def test_power_loop_compensates_threshold_drift():
    d = Diode()
    d.laser.set_current(55000)
    d.run(30)
    assert d.laser.set_power(20000)  # 20 mW
    d.run(200)
    assert abs(d.laser.power_uw - 20000) <= 200
    i_young = d.laser.set_ua
    d.threshold_ua = 42000  # ageing and heat raise the threshold by 7 mA
    d.run(200)
    assert abs(d.laser.power_uw - 20000) <= 200
    assert 6000 <= d.laser.set_ua - i_young <= 8000


def test_out_of_range_commands_refused():
    d = Diode()
    assert not d.laser.set_current(95000) and not d.laser.set_current(-1) and d.laser.target_ua == 0
    assert not d.laser.set_power(-5)


def test_mp_step_allocates_nothing():
    d = Diode()
    d.laser.set_current(60000)
    d.laser.set_power(15000)
    d.run(40)
    assert garbage_bytes(lambda: d.laser.step(True), 200) == 0
