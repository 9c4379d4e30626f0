"""Fine pointing loop: convergence, clamps, dropouts, zero garbage per step."""

from array import array

from hal.fake import FakeBeaconSensor, FakeSteeringMirror
from payload.fine_loop import FinePointingLoop, E_LIMIT_NRAD
from tests.flight.support import raises, garbage_bytes


def _closed_loop(loop, sensor, mirror, dist_x, dist_y, steps):
    """Static disturbance; the sensor sees disturbance minus mirror position."""
    i = 0
    while i < steps:
        sensor.publish(dist_x - mirror.x_nrad, dist_y - mirror.y_nrad)
        loop.step()
        i += 1


def test_loop_nulls_a_static_offset():
    s, m = FakeBeaconSensor(), FakeSteeringMirror()
    loop = FinePointingLoop(s, m, ki_q8=128)
    loop.enabled = True
    _closed_loop(loop, s, m, 50000, -30000, 60)
    assert abs(m.x_nrad - 50000) <= 2 and abs(m.y_nrad + 30000) <= 2
    assert loop.frames == 60 and loop.saturations == 0


def test_integrator_converges_geometrically():
    s, m = FakeBeaconSensor(), FakeSteeringMirror()
    loop = FinePointingLoop(s, m, ki_q8=128)  # ki = 0.5: error halves per frame
    loop.enabled = True
    _closed_loop(loop, s, m, 64000, 0, 1)
    assert m.x_nrad == 32000
    _closed_loop(loop, s, m, 64000, 0, 1)
    assert m.x_nrad == 48000


def test_error_clamped_to_sensor_field_and_mirror_to_travel():
    s, m = FakeBeaconSensor(), FakeSteeringMirror()
    loop = FinePointingLoop(s, m, ki_q8=1024)
    loop.enabled = True
    s.publish(10 * E_LIMIT_NRAD, -10 * E_LIMIT_NRAD)
    loop.step()
    assert m.x_nrad == 4 * E_LIMIT_NRAD and m.y_nrad == -4 * E_LIMIT_NRAD  # gain 4, clamped error
    _closed_loop(loop, s, m, 5000000, 0, 5)
    assert m.x_nrad == FakeSteeringMirror.TRAVEL_NRAD
    assert loop.saturations >= 1


def test_no_frame_holds_the_mirror():
    s, m = FakeBeaconSensor(), FakeSteeringMirror()
    loop = FinePointingLoop(s, m)
    loop.enabled = True
    _closed_loop(loop, s, m, 1000, 1000, 10)
    x = m.x_nrad
    loop.step()  # no new frame published
    loop.step()
    assert m.x_nrad == x and loop.no_frame == 2
    s.publish(5000, 5000, seen=False)  # beacon lost: frame without a spot
    loop.step()
    assert m.x_nrad == x and loop.no_frame == 3


def test_disabled_loop_measures_but_does_not_move():
    s, m = FakeBeaconSensor(), FakeSteeringMirror()
    loop = FinePointingLoop(s, m)
    s.publish(7000, -9000)
    loop.step()
    assert m.cmd_x_nrad == 0 and loop.frames == 1 and loop.max_abs_err_nrad == 9000


def test_gain_range_checked():
    loop = FinePointingLoop(FakeBeaconSensor(), FakeSteeringMirror())
    raises(ValueError, loop.set_gain, -1)
    raises(ValueError, loop.set_gain, 1025)


def test_mp_step_allocates_nothing():
    s, m = FakeBeaconSensor(), FakeSteeringMirror()
    loop = FinePointingLoop(s, m)
    loop.enabled = True
    state = array("i", [0])

    def one():
        state[0] = (state[0] + 7919) % 100000
        s.publish(state[0] - 50000, 25000 - state[0])
        loop.step()
    assert garbage_bytes(one, 1000) == 0
