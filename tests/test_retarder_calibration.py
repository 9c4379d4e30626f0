"""The flight retarder loop's calibration table against the cell model it stands for, and the
loop against a cell that differs from its calibration (warmer, so less retardance)."""

import math

import numpy as np

from payload import retarder_loop as rl
from sim.polarisation import LiquidCrystalRetarder, PolarisationDrift


class Dac:
    value = 0

    def write_u16(self, v):
        self.value = v


def test_table_matches_the_model_cell():
    cell = LiquidCrystalRetarder()
    for d, g in zip(rl.CAL_DRIVE_U16, rl.CAL_RETARDANCE_MRAD):
        assert abs(cell.settled_retardance_rad(d) * 1000 - g) <= 2


def _run(cell, seed, n=1500):
    rng = np.random.default_rng(seed)
    drift = PolarisationDrift(rng)
    dac = Dac()
    loop = rl.RetarderLoop(dac)
    loop.start()
    e_true = []
    for _ in range(n):  # one D/A measurement every 2 s: 50 min
        gamma = cell.step(2.0, dac.value)
        e = 0.97 * math.cos(drift.step(2.0) + gamma)
        loop.on_da(e + rng.normal(0.0, 0.004))  # ~4,000 coincidences per measurement
        e_true.append(e)
    return np.array(e_true[60:])


def test_loop_holds_da_correlation_with_the_model_cell():
    e = _run(LiquidCrystalRetarder(), seed=1)
    assert e.mean() >= 0.96 and e.min() >= 0.93


def test_loop_holds_with_a_cell_10_percent_off_its_calibration():
    e = _run(LiquidCrystalRetarder(gamma_max_rad=0.9 * 2.5 * math.pi), seed=2)
    assert e.mean() >= 0.96 and e.min() >= 0.93
