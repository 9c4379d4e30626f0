"""The photon source as the payload's HAL sees it: pump diode, crystal, analysers, retarder.

Each source cycle (the flight code's 10 Hz) the lock-step runner calls
:meth:`SourcePlant.step`, which

1. reads the flight code's outputs from the emulated HAL: pump current word and
   enable, liquid-crystal retarder drive, analysis basis;
2. advances the pump diode (sim/pump_laser.py) at the baseplate temperature and
   publishes the current-sense shunt, the back-facet monitor photodiode and the
   diode thermistor in the flight calibrations (10 mV/mA, 100 uV/uW of diode
   output, 40 uV/mK bridge);
3. turns the pump power at the crystal and the crystal's true temperature into a
   pair rate (sim/spdc.py: brightness x power x sinc^2), the drift plus retarder
   phase into outcome probabilities of the analysers (both arms at 0/90 deg for
   H/V, 45/135 deg for D/A), and adds to the eight emulated counters the
   Poisson counts of the interval.

Counts are drawn from their means rather than photon by photon (sim/detectors.py
does the latter for the tests that check this shortcut): per detector
``S = (R eta p_marg + dark) / (1 + r tau_d)`` and afterpulses ``p_ap S``; per pair
``C = R eta^2 p_jk d_a d_b + 2 tau_w r_a r_b`` with ``d`` the dead-time factors
``1 / (1 + r tau_d)``; ``eta`` = monitor tap x arm transmission x detector
efficiency.  The eight draws are independent, which loses the small correlation
between a pair's singles and its coincidence; the on-board estimators do not
depend on it.

Every parameter comes from the preset (sim/presets.py, each with its source).
Sensor noise: 20 uV rms on the shunt (2 uA) and 0.1 % of reading on the monitor
photodiode, assumed values typical of a 24-bit ADC chain.
"""

import math

import numpy as np

from hal.interface import COUNTERS

PUMP_FULL_SCALE_MA = 100.0  # the pump_current DAC's full scale (payload/pump_laser.py)
SENSE_UV_PER_MA = 10_000  # current-sense shunt amplifier
PD_UV_PER_UW = 100  # monitor photodiode transimpedance, per uW of diode output
NTC_UV_PER_MK = 40  # diode thermistor bridge, like the crystal's
NTC_T_REF_MK = 298_150
SENSE_NOISE_UV = 20.0
PD_NOISE_FRACTION = 1e-3
_ANGLES = {0: 0.0, 1: math.pi / 4}  # analyser angle of detector 0 in each basis (both arms)


class SourcePlant:
    """Pump diode, SPDC crystal, polarisation drift, LC retarder and the on-board analysers."""

    def __init__(self, preset, rng: np.random.Generator, hal, phase_match_offset_k: float = 0.0,
                 operating_hours: float = 0.0, phase0_rad=None):
        self.preset = preset
        self.rng = rng
        self.hal = hal
        self.source = preset.make_source()
        self.nominal_temp_k = self.source.centre_temp_k
        self.source.centre_temp_k = self.nominal_temp_k + phase_match_offset_k  # the crystal's truth
        self.diode = preset.make_pump_laser(operating_hours)
        self.drift = preset.make_drift(rng, phase0_rad)
        self.retarder = preset.make_retarder()
        self.eta = preset["monitor_tap"] * preset["arm_transmission"] * preset["det_efficiency"]
        self.delivery = preset["pump_delivery"]
        self.dead_s = preset["det_dead_time_s"]
        self.dark_hz = preset["det_dark_count_hz"]
        self.afterpulse = preset["det_afterpulse_probability"]
        self.window_s = preset["half_window_s"]
        self._counters = [hal.counters[n] for n in COUNTERS]
        self.current_ma = 0.0  # truth, last step
        self.power_mw = 0.0  # diode output
        self.pair_rate_hz = 0.0
        self.phase_rad = 0.0  # drift + retarder, wrapped to (-pi, pi]
        self.extra_current_ma = 0.0  # fault injection: current the driver adds while enabled
        self.case_offset_k = 0.0  # fault injection: diode case above the baseplate (failed heat path)

    def step(self, dt_s: float, crystal_temp_k: float, case_temp_k: float) -> None:
        hal = self.hal
        on = hal.digital_out["pump_enable"].on
        word = hal.analog_out["pump_current"].value
        i_ma = word / 65535.0 * PUMP_FULL_SCALE_MA + self.extra_current_ma if on else 0.0
        self.current_ma = i_ma
        case_temp_k += self.case_offset_k
        p_mw = float(self.diode.step(dt_s, i_ma, case_temp_k))
        self.power_mw = p_mw
        rng = self.rng
        hal.analog_in["pump_current_sense"].uv = int(round(i_ma * SENSE_UV_PER_MA + rng.normal(0.0, SENSE_NOISE_UV)))
        pd = p_mw * 1000.0 * PD_UV_PER_UW
        hal.analog_in["pump_monitor_pd"].uv = int(round(pd * (1.0 + rng.normal(0.0, PD_NOISE_FRACTION))))
        hal.analog_in["diode_thermistor"].uv = int(round(-NTC_UV_PER_MK * (case_temp_k * 1000.0 - NTC_T_REF_MK)))
        gamma = self.retarder.step(dt_s, hal.analog_out["lc_retarder"].value)
        phi = self.drift.step(dt_s) + gamma
        self.phase_rad = math.remainder(phi, 2 * math.pi)
        rate = float(self.source.pair_rate_hz(p_mw * self.delivery, crystal_temp_k))
        self.pair_rate_hz = rate
        basis = 1 if hal.digital_out["basis_select"].on else 0
        angle = _ANGLES[basis]
        p = self.source.outcome_probabilities(angle, angle, self.phase_rad)  # [j, k]: A port j, B port k
        eta = self.eta
        r_a = rate * eta * p.sum(axis=1) + self.dark_hz  # per detector, before dead time
        r_b = rate * eta * p.sum(axis=0) + self.dark_hz
        d_a = 1.0 / (1.0 + r_a * self.dead_s)
        d_b = 1.0 / (1.0 + r_b * self.dead_s)
        s_a = r_a * d_a * (1.0 + self.afterpulse)
        s_b = r_b * d_b * (1.0 + self.afterpulse)
        coinc = rate * eta * eta * p * np.outer(d_a, d_b) + 2.0 * self.window_s * np.outer(s_a, s_b)
        means = np.concatenate([s_a, s_b, coinc.ravel()]) * dt_s
        for counter, n in zip(self._counters, rng.poisson(means).tolist()):
            counter.add(n)
