"""The flight quality monitor, fed by the physics models' simulated counts, recovers the truth."""

import math

import numpy as np

from payload.quality import BASIS_DA, BASIS_HV, QualityMonitor
from sim.presets import get_preset


def _readout(preset, angle_rad, rng, period_s=1.0):
    src = preset.make_source()
    analyser = preset.make_analyser()
    t = src.emit(0.0, period_s, preset["pump_mw_nominal"], src.centre_temp_k, rng)
    port_a, port_b = src.analyse(len(t), angle_rad, angle_rad, rng)
    return analyser.integrate(t, port_a, port_b, rng, 0.0, period_s, 1)


def test_monitor_recovers_the_micius_visibility_and_chsh():
    preset = get_preset("micius")
    rng = np.random.default_rng(11)
    q = QualityMonitor(window_ns=round(preset.make_counter().half_window_s * 1e9))
    for basis, angle in ((BASIS_HV, 0.0), (BASIS_DA, math.pi / 4)):
        r = _readout(preset, angle, rng)
        singles = (r.singles_a[0, 0], r.singles_a[1, 0], r.singles_b[0, 0], r.singles_b[1, 0])
        coinc = (r.coincidences[0, 0, 0], r.coincidences[0, 1, 0], r.coincidences[1, 0, 0], r.coincidences[1, 1, 0])
        q.update(basis, r.period_s, singles, coinc)
    v = preset["visibility"]
    assert abs(q.visibility[BASIS_HV] - v) < 0.02 and abs(q.visibility[BASIS_DA] - v) < 0.02
    assert q.visibility[BASIS_HV] >= 0.95 and q.visibility[BASIS_DA] >= 0.95  # the on-board target
    assert q.chsh_s >= 2.6
