"""Crystal loop closed on the thermal plant for a whole orbit: the +/- 10 mK requirement.

The flight ``CrystalThermalLoop`` reads a fake thermistor and drives a fake TEC at
10 Hz; sim/thermal.py's plant (seeded) integrates the mount between steps.  The
plant starts at the baseplate temperature, so each run begins with the warm-up
slew (100 mK/s), then the sunlight/eclipse swing of the baseplate (6 K peak to
peak, 5-minute edges) disturbs the crystal for a full orbit.  Judged on the
plant's TRUE temperature.

The hold window starts at the first lock as the source modes declare it (held
and in the 10 mK band for 30 s, payload/source_modes.py): the reference decelerates over the last 80 mK of a slew, so the
crystal no longer overshoots (it did by about 23 mK for 2 s when the reference
stopped dead).
"""

import numpy as np
import pytest

from hal.fake import FakeAnalogIn, FakeAnalogOut
from payload.thermal_loop import CrystalThermalLoop
from sim.thermal import CrystalThermalPlant

DT_S = 0.1  # the 10 Hz thermal group
ORBIT_S = 5640.0  # the plant's default orbit period
WARMUP_S = 600.0  # run-in before the orbit window: warm-up slew and settling
BAND_MK = 10  # the requirement: |T - set point| <= 10 mK while held
LOCK_HOLD_S = 30.0  # payload/source_modes.py: in band this long before READY
APPROACH_S = 4.0  # the decelerating end of a slew (1/8 of the distance per step over 80 mK)
SLEW_MK_S = 100  # the loop's default slew: 10 mK per 100 ms step


def close_loop(set_point_mk, duration_s, kd, seed=1, move=None):
    """Run the loop on the plant; ``move=(t_s, set_point_mk)`` re-commands mid-run.

    Returns (truth minus set point in mK, held-and-in-band flags), one per step.
    """
    plant = CrystalThermalPlant(np.random.default_rng(seed))
    plant.temp_k = plant.ambient_k(0.0)  # switched on at the baseplate temperature
    thermistor, tec = FakeAnalogIn(), FakeAnalogOut()
    loop = CrystalThermalLoop(thermistor, tec, set_point_mk=set_point_mk, kd=kd)
    n = int(round(duration_s / DT_S))
    k_move = n if move is None else int(round(move[0] / DT_S))
    error_mk = np.empty(n)
    in_band = np.zeros(n, dtype=bool)
    for k in range(n):
        if k == k_move:
            loop.set_point_mk = move[1]
        thermistor.uv = plant.thermistor_uv()
        loop.step()
        loop.enabled = True  # the first step ran disabled: bumpless start from the crystal
        in_band[k] = loop.held and abs(loop.set_point_error_mk) <= BAND_MK
        plant.step(k * DT_S, DT_S, tec.value)  # the drive just written holds for one step
        error_mk[k] = plant.temp_k * 1000.0 - loop.set_point_mk
    return error_mk, in_band


def judge_hold(error_mk, in_band, k_from, k_to, label):
    """Check the hold from the first lock at or after ``k_from``.

    Returns that step.  Prints the figures (``pytest -s``).
    """
    run = 0
    k_hold = None
    for k in range(k_from, k_to):  # lock as the source modes declare it: in band for LOCK_HOLD_S
        run = run + 1 if in_band[k] else 0
        if run * DT_S >= LOCK_HOLD_S:
            k_hold = k
            break
    assert k_hold is not None, f"{label}: never locked"
    e = error_mk[k_hold:k_to]
    print(f"{label}: held at {k_hold * DT_S:.1f} s; over {len(e) * DT_S:.0f} s: rms "
          f"{np.sqrt(np.mean(e ** 2)):.2f} mK, pp {np.ptp(e):.2f} mK, max |e| {np.abs(e).max():.2f} mK")
    assert np.abs(e).max() <= BAND_MK
    assert np.ptp(e) <= 2 * BAND_MK
    return k_hold


@pytest.mark.parametrize("kd", [0, 1000])
@pytest.mark.parametrize("set_point_mk", [298150, 297150])
def test_holds_10_mk_through_an_orbit(set_point_mk, kd):
    n = int(round((WARMUP_S + ORBIT_S) / DT_S))
    error_mk, in_band = close_loop(set_point_mk, n * DT_S, kd)
    k_hold = judge_hold(error_mk, in_band, 0, n, f"set point {set_point_mk} mK, kd {kd}")
    warmup_s = (set_point_mk - 293150) / SLEW_MK_S  # from the 293.15 K baseplate
    assert k_hold * DT_S <= warmup_s + APPROACH_S + LOCK_HOLD_S
    assert (n - k_hold) * DT_S >= ORBIT_S  # the hold window covers a full orbit


@pytest.mark.parametrize("kd", [0, 1000])
@pytest.mark.parametrize("move_mk", [1000, -1000])
def test_set_point_move_mid_orbit_holds_again(move_mk, kd):
    t_move_s = 0.65 * ORBIT_S  # at sunset, while the baseplate cools fastest
    n = int(round((WARMUP_S + ORBIT_S) / DT_S))
    k_move = int(round(t_move_s / DT_S))
    error_mk, in_band = close_loop(298150, n * DT_S, kd, move=(t_move_s, 298150 + move_mk))
    label = f"kd {kd}"
    judge_hold(error_mk, in_band, 0, k_move, label + ", before the move")
    k_back = judge_hold(error_mk, in_band, k_move + 1, n, label + f", after moving {move_mk:+d} mK")
    assert (k_back - k_move) * DT_S <= abs(move_mk) / SLEW_MK_S + APPROACH_S + LOCK_HOLD_S
