"""Entangled-photon source presets: a Micius-class source and a CubeSat (SpooQy-1-like) source.

Every parameter carries its value, unit and source: a publication, a datasheet
class, "computed" (derived here from other sourced values), "assumed" (a design
choice of this emulator) or "calibrated: <against what>".  ``python -m
sim.presets`` prints the tables.

How the Micius visibility is calibrated
---------------------------------------
Yin et al., Nature 582, 501 (2020) report a QBER of about 4.5 % with a
signal-to-noise ratio of 15:1 on the ground coincidences.  Counting the
uncorrelated 1/16 of the coincidences as 50 % errors (:func:`sim.spdc.expected_qber`)::

    QBER = 15/16 * (1 - V)/2 + 1/16 * 1/2

gives ``V = 0.970`` for QBER = 4.53 %: the intrinsic visibility of the preset.

Sources cited
-------------
- [Yin2017] J. Yin et al., "Satellite-based entanglement distribution over 1200
  kilometers", Science 356, 1140 (2017).
- [Yin2020] J. Yin et al., "Entanglement-based secure quantum cryptography over
  1,120 kilometres", Nature 582, 501 (2020); figures in shared/REFERENCES.md.
- [Tang2016] Z. Tang et al., "Generation and analysis of correlated pairs of
  photons on board a nanosatellite", Phys. Rev. Applied 5, 054022 (2016),
  arXiv 1603.06659: in-orbit correlation contrast 97 +/- 2 % (Galassia).
- [Cheng2015] C. Cheng et al., "Space qualified nanosatellite electronics
  platform for photon pair experiments", arXiv 1505.06523 (2015): payload
  electronics below 1.5 W driving the pump laser, single-photon detectors and
  liquid-crystal polarisation rotators.
- [Villar2020] A. Villar et al., "Entanglement demonstration on board a
  nano-satellite", Optica 7, 734 (2020), arXiv 2006.14430 (SpooQy-1).
- [Lohrmann2018] A. Lohrmann et al., "High fidelity field stop collection for
  polarization-entangled photon pair sources", arXiv 1803.05171 (2018): compact
  critically phase-matched BBO source, detected pair rates above 1e5 pairs/s/mW.
- [KTP] thermo-optic coefficients of Emanueli & Arie, Appl. Opt. 42, 6661
  (2003); Sellmeier equations of Kato & Takaoka, Appl. Opt. 41, 5040 (2002)
  (the FWHM computation is in sim/spdc.py).
- [AQRH] Excelitas SPCM-AQRH single-photon counting module datasheet (Si SPAD).
- [Nakamura1997] S. Nakamura et al., "High-power, long-lifetime InGaN
  multi-quantum-well-structure laser diodes", Jpn. J. Appl. Phys. (1997):
  threshold characteristic temperature T0 = 170 K.
- [TopGaN] TopGaN "laser reliability" note: TO-56 thermal resistance 25-30 K/W;
  nitride diodes degrade mainly by a rising threshold.
"""

from collections import namedtuple

from sim.detectors import CoincidenceCounter, OnboardAnalyser, SinglePhotonDetector
from sim.polarisation import LiquidCrystalRetarder, PolarisationDrift
from sim.pump_laser import PumpLaserDiode
from sim.spdc import SpdcSource, expected_qber, temperature_fwhm_k

__all__ = ["Param", "SourcePreset", "PRESETS", "get_preset"]

Param = namedtuple("Param", ["value", "unit", "source"])

_PUMP_KEYS = {  # preset parameter -> PumpLaserDiode argument
    "pump_threshold_ma": "threshold_ma",
    "pump_slope_mw_ma": "slope_mw_ma",
    "pump_t0_k": "t0_k",
    "pump_t1_k": "t1_k",
    "pump_forward_voltage_v": "forward_voltage_v",
    "pump_thermal_res_k_w": "thermal_res_k_w",
    "pump_monitor_ua_mw": "monitor_ua_mw",
    "pump_max_current_ma": "max_current_ma",
    "pump_cod_current_ma": "cod_current_ma",
    "pump_ageing_rise": "ageing_rise",
    "pump_ageing_ref_hours": "ageing_ref_hours",
    "pump_ageing_exponent": "ageing_exponent",
}
_DETECTOR_KEYS = {
    "det_efficiency": "efficiency",
    "det_dead_time_s": "dead_time_s",
    "det_dark_count_hz": "dark_count_hz",
    "det_afterpulse_probability": "afterpulse_probability",
    "det_afterpulse_time_s": "afterpulse_time_s",
    "det_jitter_fwhm_s": "jitter_fwhm_s",
}
_DRIFT_KEYS = {
    "drift_amplitude_rad": "amplitude_rad",
    "drift_orbit_period_s": "orbit_period_s",
    "drift_walk_rad_per_sqrt_s": "walk_rad_per_sqrt_s",
}


class SourcePreset:
    """A named set of :class:`Param` with factories for the models they configure.

    ``preset["visibility"]`` is the value; ``preset.params["visibility"]`` the
    :class:`Param` with unit and source.
    """

    def __init__(self, name, description, params):
        self.name = name
        self.description = description
        self.params = dict(params)
        for key, p in self.params.items():
            if not isinstance(p, Param) or not str(p.source).strip():
                raise ValueError(f"preset {name}: parameter {key} needs a value, a unit and a source")

    def __getitem__(self, key):
        return self.params[key].value

    def __contains__(self, key):
        return key in self.params

    def table(self):
        """The parameter table as text (name, value, unit, source)."""
        rows = [f"{self.name}: {self.description}"]
        for key, p in self.params.items():
            rows.append(f"  {key:28s} {p.value!r:>12} {p.unit:10s} {p.source}")
        return "\n".join(rows)

    # --- model factories --------------------------------------------------------------

    def make_source(self):
        """The :class:`~sim.spdc.SpdcSource` at the nominal phase-matching temperature."""
        return SpdcSource(brightness_pairs_s_mw=self["brightness_pairs_s_mw"], centre_temp_k=self["centre_temp_k"],
                          fwhm_k=self["pm_fwhm_k"], visibility=self["visibility"],
                          crystal_length_mm=self["crystal_length_mm"])

    def make_pump_laser(self, operating_hours=0.0):
        """The :class:`~sim.pump_laser.PumpLaserDiode`, new unless ``operating_hours`` is given."""
        return PumpLaserDiode(operating_hours=operating_hours, **{v: self[k] for k, v in _PUMP_KEYS.items()})

    def make_detector(self):
        """One on-board :class:`~sim.detectors.SinglePhotonDetector`."""
        return SinglePhotonDetector(**{v: self[k] for k, v in _DETECTOR_KEYS.items()})

    def make_counter(self):
        """The on-board :class:`~sim.detectors.CoincidenceCounter`."""
        return CoincidenceCounter(half_window_s=self["half_window_s"])

    def make_analyser(self):
        """The on-board four-detector :class:`~sim.detectors.OnboardAnalyser`."""
        arm = self["monitor_tap"] * self["arm_transmission"]
        return OnboardAnalyser([self.make_detector() for _ in range(2)], [self.make_detector() for _ in range(2)],
                               arm, arm, self.make_counter())

    def make_drift(self, rng, phase0_rad=None):
        """The :class:`~sim.polarisation.PolarisationDrift` on ``rng``."""
        return PolarisationDrift(rng, phase0_rad=phase0_rad, **{v: self[k] for k, v in _DRIFT_KEYS.items()})

    def make_retarder(self):
        """The :class:`~sim.polarisation.LiquidCrystalRetarder` (module defaults)."""
        return LiquidCrystalRetarder()

    def nominal_pump_current_ma(self, case_temp_k=None):
        """Pump current giving ``pump_mw_nominal`` at the crystal for a new diode [mA]."""
        t = self["pump_ref_temp_k"] if case_temp_k is None else case_temp_k
        return self.make_pump_laser().current_for_power_ma(self["pump_mw_nominal"] / self["pump_delivery"], t)

    def expected_onboard_rates(self):
        """Mean on-board rates at nominal pump and perfect phase matching (no dead time).

        Returns a dict: ``pairs_hz`` generated, ``singles_per_arm_hz`` (both
        detectors of an arm), ``coincidences_hz`` (all four detector pairs) and
        ``accidentals_hz`` (all four pairs, ``2 tau R_1 R_2`` per pair).
        """
        pairs = self["brightness_pairs_s_mw"] * self["pump_mw_nominal"]
        eta = self["monitor_tap"] * self["arm_transmission"] * self["det_efficiency"]
        singles = pairs * eta + 2 * self["det_dark_count_hz"]
        per_detector = singles / 2
        return {
            "pairs_hz": pairs,
            "singles_per_arm_hz": singles,
            "coincidences_hz": pairs * eta * eta,
            "accidentals_hz": 4 * 2 * self["half_window_s"] * per_detector * per_detector,
        }


def _common_pump(**over):
    """Pump-diode parameters shared by both presets (405 nm single-mode GaN diodes)."""
    p = {
        "pump_ref_temp_k": Param(298.15, "K", "datasheet reference temperature, 25 C"),
        "pump_t0_k": Param(170.0, "K", "[Nakamura1997]"),
        "pump_t1_k": Param(400.0, "K", "assumed (slope -6 % over 25 K)"),
        "pump_forward_voltage_v": Param(5.0, "V", "GaN diodes operate at 4-5 V (datasheet class)"),
        "pump_thermal_res_k_w": Param(28.0, "K/W", "[TopGaN] 25-30 K/W for TO-56"),
        "pump_monitor_ua_mw": Param(5.0, "uA/mW", "assumed: 0.1-0.5 mA monitor current at rated power "
                                                   "is the usual datasheet range"),
        "pump_ageing_rise": Param(0.20, "1", "assumed end-of-life criterion: threshold +20 % ..."),
        "pump_ageing_ref_hours": Param(10000.0, "h", "... after 10,000 h (assumed)"),
        "pump_ageing_exponent": Param(0.5, "1", "power-law threshold rise [TopGaN]; exponent assumed"),
        "pump_delivery": Param(0.8, "1", "assumed optics transmission, diode to crystal"),
    }
    p.update(over)
    return p


def _micius():
    length = 25.0
    params = {
        "pump_wavelength_nm": Param(405.0, "nm", "[Yin2020]"),
        "signal_wavelength_nm": Param(810.0, "nm", "[Yin2020]"),
        "state": Param("(|HV>+|VH>)/sqrt(2)", "-", "[Yin2020]"),
        "crystal": Param("PPKTP type-II", "-", "assumed: this project's crystal model (the flight source's "
                                               "crystal and geometry were not verified from [Yin2017] here)"),
        "crystal_length_mm": Param(length, "mm", "assumed"),
        "pm_fwhm_k": Param(round(temperature_fwhm_k(length), 3), "K",
                           "computed from crystal_length_mm and [KTP] (sim/spdc.py)"),
        "centre_temp_k": Param(298.15, "K", "assumed nominal phase-matching set point; within the TEC "
                                            "range of sim/thermal.py"),
        "brightness_pairs_s_mw": Param(round(5.9e6 / 30.0, -2), "1/s/mW",
                                       "assumed: ~5.9e6 pairs/s at 30 mW pump, the order recalled for the "
                                       "on-board source of [Yin2017] but not verified against the paper; "
                                       "to be calibrated against the 2.2 Hz ground coincidences of [Yin2020] "
                                       "by the whole-pass issue"),
        "pump_mw_nominal": Param(30.0, "mW", "assumed, with brightness_pairs_s_mw (not verified)"),
        "visibility": Param(0.970, "1", "calibrated: QBER 4.5 % at SNR 15:1 [Yin2020] "
                                        f"(expected_qber(0.970, 15) = {expected_qber(0.970, 15.0):.4f})"),
        "ground_signal_to_noise": Param(15.0, "1", "[Yin2020]"),
        "ground_qber": Param(0.045, "1", "[Yin2020]"),
        "ground_coincidence_hz": Param(2.2, "1/s", "[Yin2020]"),
        "pump_threshold_ma": Param(35.0, "mA", "assumed: 405 nm single-mode diodes of the 40 mW class list "
                                               "20-40 mA"),
        "pump_slope_mw_ma": Param(1.0, "mW/mA", "assumed: datasheet class 1-1.5 mW/mA"),
        "pump_max_current_ma": Param(100.0, "mA", "assumed absolute maximum rating"),
        "pump_cod_current_ma": Param(150.0, "mA", "assumed catastrophic optical damage level"),
        "det_efficiency": Param(0.55, "1", "[AQRH] PDE at 810 nm"),
        "det_dead_time_s": Param(22e-9, "s", "[AQRH]"),
        "det_dark_count_hz": Param(100.0, "1/s", "[AQRH] low-dark-count grade, before radiation damage"),
        "det_afterpulse_probability": Param(0.005, "1", "[AQRH]"),
        "det_afterpulse_time_s": Param(50e-9, "s", "assumed"),
        "det_jitter_fwhm_s": Param(350e-12, "s", "[AQRH]"),
        "half_window_s": Param(1e-9, "s", "assumed: > 4 sigma of the two-detector jitter"),
        "monitor_tap": Param(0.1, "1", "assumed: fraction of each arm split off to the on-board analysers "
                                       "(the rest goes to the telescopes)"),
        "arm_transmission": Param(0.5, "1", "assumed coupling and optics transmission to the detectors"),
        "drift_amplitude_rad": Param(0.3, "rad", "assumed orbital thermal birefringence swing"),
        "drift_orbit_period_s": Param(5640.0, "s", "about 94 min (shared/REFERENCES.md)"),
        "drift_walk_rad_per_sqrt_s": Param(0.005, "rad/sqrt(s)", "assumed (0.38 rad rms per orbit)"),
    }
    params.update(_common_pump())
    return SourcePreset("micius", "Micius-class PPKTP source, 405 -> 810 nm, (|HV>+|VH>)/sqrt(2)", params)


def _cubesat():
    length = 10.0
    params = {
        "pump_wavelength_nm": Param(405.0, "nm", "[Villar2020]"),
        "signal_wavelength_nm": Param(810.0, "nm", "[Villar2020]"),
        "state": Param("(|HV>+|VH>)/sqrt(2)", "-", "assumed: same Bell state as the Micius preset"),
        "crystal": Param("PPKTP type-II", "-", "assumed: SpooQy-1 used critically phase-matched BBO "
                                               "[Villar2020, Lohrmann2018]; the emulator keeps one crystal "
                                               "model, with a short crystal"),
        "crystal_length_mm": Param(length, "mm", "assumed compact crystal"),
        "pm_fwhm_k": Param(round(temperature_fwhm_k(length), 3), "K",
                           "computed from crystal_length_mm and [KTP] (sim/spdc.py)"),
        "centre_temp_k": Param(298.15, "K", "assumed nominal phase-matching set point"),
        "brightness_pairs_s_mw": Param(1.0e5, "1/s/mW", "assumed: order of the compact CQT source's "
                                                        "brightness [Lohrmann2018]"),
        "pump_mw_nominal": Param(5.0, "mW", "assumed: low pump power for the CubeSat power budget"),
        "visibility": Param(0.97, "1", "[Tang2016]: correlation contrast 97 +/- 2 % measured in orbit "
                                       "(shared/REFERENCES.md), taken as the intrinsic visibility"),
        "payload_power_budget_w": Param(1.5, "W", "[Cheng2015] (shared/REFERENCES.md)"),
        "pump_threshold_ma": Param(25.0, "mA", "assumed: 405 nm single-mode diodes of the 20 mW class"),
        "pump_slope_mw_ma": Param(0.8, "mW/mA", "assumed datasheet class"),
        "pump_max_current_ma": Param(50.0, "mA", "assumed absolute maximum rating"),
        "pump_cod_current_ma": Param(80.0, "mA", "assumed catastrophic optical damage level"),
        "det_efficiency": Param(0.40, "1", "assumed: compact Geiger-mode APD, lower PDE than a module"),
        "det_dead_time_s": Param(1e-6, "s", "assumed: passively quenched GM-APD (~1 us recovery)"),
        "det_dark_count_hz": Param(500.0, "1/s", "assumed; dark counts rise with radiation dose in orbit, "
                                                 "as SpooQy-1's GM-APDs showed (CQT in-orbit study, 2022)"),
        "det_afterpulse_probability": Param(0.01, "1", "assumed"),
        "det_afterpulse_time_s": Param(100e-9, "s", "assumed"),
        "det_jitter_fwhm_s": Param(1e-9, "s", "assumed: passive quench, comparator timing"),
        "half_window_s": Param(3e-9, "s", "assumed: > 4 sigma of the two-detector jitter"),
        "monitor_tap": Param(1.0, "1", "[Cheng2015, Villar2020]: all pairs are analysed on board"),
        "arm_transmission": Param(0.3, "1", "assumed coupling and optics transmission to the detectors"),
        "drift_amplitude_rad": Param(0.3, "rad", "assumed orbital thermal birefringence swing"),
        "drift_orbit_period_s": Param(5640.0, "s", "about 94 min, LEO (shared/REFERENCES.md)"),
        "drift_walk_rad_per_sqrt_s": Param(0.005, "rad/sqrt(s)", "assumed (0.38 rad rms per orbit)"),
    }
    params.update(_common_pump())
    return SourcePreset("cubesat", "CubeSat (SpooQy-1-like) compact source, 405 -> 810 nm, LC rotators, < 1.5 W",
                        params)


PRESETS = {p.name: p for p in (_micius(), _cubesat())}


def get_preset(name):
    """The preset called ``name`` ("micius" or "cubesat")."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown source preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None


if __name__ == "__main__":  # pragma: no cover
    for preset in PRESETS.values():
        print(preset.table())
        print()
