"""Liquid-crystal retarder loop: sweep finds the fringe, tracking follows drift, wave jumps."""

import math

from payload import retarder_loop as rl


class Cell:
    """The calibrated cell: the drive maps back to retardance through the same table, so the
    phase seen is exactly the command (calibration error is the CPython test's business)."""

    def __init__(self):
        self.value = 0

    def write_u16(self, v):
        self.value = v

    def retardance_rad(self):
        d, g = rl.CAL_DRIVE_U16, rl.CAL_RETARDANCE_MRAD
        v = self.value
        if v <= d[0]:
            return g[0] / 1000.0
        for i in range(1, len(d)):
            if v <= d[i]:
                return (g[i - 1] + (g[i] - g[i - 1]) * (v - d[i - 1]) / (d[i] - d[i - 1])) / 1000.0
        return g[-1] / 1000.0


def _track(loop, cell, phi0_of_n, n_meas, visibility=0.97):
    worst = 1.0
    for n in range(n_meas):
        e = visibility * math.cos(phi0_of_n(n) + cell.retardance_rad())
        loop.on_da(e)
        if loop.state == rl.TRACK and n > 40:
            worst = min(worst, e)
    return worst


def test_calibration_table_is_monotonic_and_spans_more_than_a_wave():
    d, g = rl.CAL_DRIVE_U16, rl.CAL_RETARDANCE_MRAD
    assert len(d) == len(g)
    assert all(d[i] < d[i + 1] and g[i] > g[i + 1] for i in range(len(d) - 1))
    assert g[0] - g[-1] > rl.WAVE_MRAD + 2 * 150


def test_drive_for_mrad_interpolates_and_clamps():
    d, g = rl.CAL_DRIVE_U16, rl.CAL_RETARDANCE_MRAD
    assert rl.drive_for_mrad(g[3]) == d[3]
    mid = rl.drive_for_mrad((g[3] + g[4]) // 2)
    assert d[3] < mid < d[4]
    assert rl.drive_for_mrad(99999) == d[0] and rl.drive_for_mrad(-5) == d[-1]


def test_sweep_then_track_from_any_initial_phase():
    for phi0 in (-3.0, -1.5, 0.0, 1.0, 2.5):
        cell = Cell()
        loop = rl.RetarderLoop(cell)
        loop.start()
        worst = _track(loop, cell, lambda n: phi0, 100)
        assert loop.state == rl.TRACK
        assert worst > 0.95, (phi0, worst)  # signed: the correlated fringe, dither included


def test_tracks_a_drift_of_several_waves_with_wave_jumps():
    cell = Cell()
    loop = rl.RetarderLoop(cell)
    loop.start()
    # 0.01 rad per measurement: 20 rad over the run, far beyond the cell's range
    worst = _track(loop, cell, lambda n: 0.01 * n, 2000)
    assert loop.wave_jumps >= 2 and worst > 0.93, (loop.wave_jumps, worst)


def test_stop_holds_and_resume_continues_tracking():
    cell = Cell()
    loop = rl.RetarderLoop(cell)
    loop.start()
    _track(loop, cell, lambda n: 0.7, 60)
    theta = loop.theta_mrad
    loop.stop()
    assert loop.state == rl.TRACK and cell.value == rl.drive_for_mrad(theta)
    loop.resume()
    assert cell.value == rl.drive_for_mrad(theta + loop.dither_mrad)
    fresh = rl.RetarderLoop(Cell())
    fresh.stop()
    assert fresh.state == rl.OFF
    fresh.resume()
    assert fresh.sweeping
