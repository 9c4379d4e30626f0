"""Lock-step runner: determinism, rate groups under the virtual clock, closed loops."""

import numpy as np
import pytest

from ground_segment.commanding import build_tc
from sim.lockstep import LockstepRunner


@pytest.fixture(scope="module")
def run_a():
    return LockstepRunner(seed=7).run(3.0)


def test_same_seed_identical_results(run_a):
    again = LockstepRunner(seed=7).run(3.0)
    assert again.digest() == run_a.digest()
    assert again.hk_rows == run_a.hk_rows
    assert np.array_equal(again.error_x_nrad, run_a.error_x_nrad)


def test_other_seed_differs(run_a):
    assert LockstepRunner(seed=8).run(3.0).digest() != run_a.digest()


def test_rate_groups_follow_virtual_time(run_a):
    last = run_a.hk_rows[-1]  # decoded from the TM[3,25] packets, as the ground would
    assert run_a.fine_steps == 3000
    assert len(run_a.hk_rows) == 3  # at 0, 1 and 2 s
    assert last["uptime_s"] == 2
    assert last["fine_runs"] == 2001 and last["thermal_runs"] == 21
    assert last["fine_overruns"] == 0 and last["fine_slips"] == 0
    assert last["beam0_frames"] == 1000 and last["beam1_frames"] == 1000  # one frame per ms since the last report


def test_fine_loop_rejects_disturbance():
    open_loop = LockstepRunner(seed=3)
    for b in open_loop.app.beams:
        b.mode = 0  # OPEN: the mirror never moves
    res_open = open_loop.run(3.0)
    res_closed = LockstepRunner(seed=3).run(3.0)
    for beam in (0, 1):
        assert res_open.residual_rms_urad(beam) > 7.0  # the disturbance, ~9 urad rms/axis
        assert res_closed.residual_rms_urad(beam) < 0.5 * res_open.residual_rms_urad(beam)


def test_thermal_loop_drives_crystal_towards_set_point():
    warmup = build_tc("SRC_MODE", {"mode": 1}, seq_count=1)  # the source boots OFF: the ground warms it up
    res = LockstepRunner(seed=2).run(40.0, uplink=[(0.5, warmup)])
    temps = res.crystal_temp_k
    assert temps[0] < 294.0  # starts at the baseplate temperature
    assert temps[-1] > temps[0] + 3.0  # heated towards 298.15 K
    drive = [row["tec_drive_u16"] for row in res.hk_rows]
    assert drive[0] == 32768 and min(drive[2:30]) > 40000  # off at boot, heating once commanded
    ref = [row["crystal_ref_mk"] for row in res.hk_rows]
    assert ref[10] - ref[5] == 500  # the reference slews at 10 mK per 100 ms: 100 mK/s
    temp = [row["crystal_temp_mk"] for row in res.hk_rows]
    assert abs(temp[30] - ref[30]) < 100  # and the crystal follows it
    assert [row["src_mode"] for row in res.hk_rows][:3] == [0, 1, 1]


def test_bad_arguments_rejected():
    with pytest.raises(ValueError, match="divide one second"):
        LockstepRunner(fine_period_us=3000)
    with pytest.raises(ValueError, match="duration"):
        LockstepRunner().run(0)
