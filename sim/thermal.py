"""Crystal thermal plant: a lumped mount on a thermo-electric cooler.

    C dT/dt = (T_amb(t) - T) / R + P_tec

with the TEC heat pumped ``P_tec = P_max * (drive - 32768) / 32767`` (positive
heats).  The ambient is the payload baseplate, swinging between sunlight and
eclipse once per orbit.  The thermistor reads through a bridge that is linear
near 25 C: ``v = -S (T - T_ref)`` plus white readout noise.

Parameters (all illustrative placeholders until the photon-source issue
calibrates the source thermal model; each says where its value comes from):

=================  ========  ==================================================
name               value     source
=================  ========  ==================================================
heat_capacity      2.0 J/K   ~5 g copper mount + 1x2x30 mm PPKTP crystal
                             (c_Cu = 0.385 J/g/K -> 1.9 J/K); rounded
thermal_res        20 K/W    typical of a small TEC stage to its heat sink
tec_max_w          0.5 W     small single-stage TEC at a few hundred mA
orbit_period_s     5640      Micius: about 94 min (shared/REFERENCES.md)
eclipse_fraction   0.35      500 km sun-synchronous orbit, eclipse ~33 min
ambient_mean_k     293.15    assumed baseplate mean
ambient_swing_k    6.0       assumed peak-to-peak sunlight/eclipse swing
bridge_uv_per_mk   40        10 kOhm NTC (-4.4 %/K) at 100 uA excitation gives
                             44 uV/mK; rounded to the flight calibration
noise_uv_rms       20        0.5 mK rms readout noise of a 24-bit ADC chain
=================  ========  ==================================================
"""

import math

import numpy as np

T_REF_MK = 298150


class CrystalThermalPlant:
    def __init__(self, rng: np.random.Generator, heat_capacity_j_k=2.0, thermal_res_k_w=20.0,
                 tec_max_w=0.5, orbit_period_s=5640.0, eclipse_fraction=0.35,
                 ambient_mean_k=293.15, ambient_swing_k=6.0, bridge_uv_per_mk=40,
                 noise_uv_rms=20.0, initial_k=None):
        self.rng = rng
        self.c = heat_capacity_j_k
        self.r = thermal_res_k_w
        self.p_max = tec_max_w
        self.period = orbit_period_s
        self.eclipse = eclipse_fraction
        self.amb_mean = ambient_mean_k
        self.amb_swing = ambient_swing_k
        self.s = bridge_uv_per_mk
        self.noise = noise_uv_rms
        self.temp_k = ambient_mean_k if initial_k is None else initial_k
        # fault injection (sim/faults.py): a failed TEC driver delivers no power whatever it is told;
        # an open or shorted thermistor reads a fixed bridge voltage
        self.tec_failed = False
        self.thermistor_fault_uv = None

    def ambient_k(self, t_s: float) -> float:
        """Baseplate temperature: a smoothed square wave, warm in sunlight."""
        phase = (t_s % self.period) / self.period
        # sunlit for (1 - eclipse) of the orbit; tanh edges with ~5 min time constant
        edge = 300.0 / self.period
        sun = 0.0
        for k in (-1, 0, 1):  # neighbouring orbits' edges too: smooth across the orbit boundary
            p = phase - k
            sun += 0.5 * (math.tanh(p / edge) - math.tanh((p - (1 - self.eclipse)) / edge))
        return self.amb_mean + self.amb_swing * (sun - 0.5)

    def step(self, t_s: float, dt_s: float, drive_u16: int) -> None:
        if self.tec_failed:
            drive_u16 = 32768  # the TEC's zero-power word
        p = self.p_max * (drive_u16 - 32768) / 32767.0
        t_amb = self.ambient_k(t_s)
        tau = self.r * self.c
        t_inf = t_amb + p * self.r  # steady state under this drive
        self.temp_k = t_inf + (self.temp_k - t_inf) * math.exp(-dt_s / tau)

    def thermistor_uv(self) -> int:
        if self.thermistor_fault_uv is not None:
            return int(self.thermistor_fault_uv)
        t_mk = self.temp_k * 1000.0
        return int(round(-self.s * (t_mk - T_REF_MK) + self.rng.normal(0.0, self.noise)))
