"""The synchronisation laser (SYNC_LASER, PointingApp): the command, its refusal, the gate on the HAL
output `sync_enable` (shining only while a beam tracks a station above the mask, like the beacon), the
automatic cancellation when every beam is idle, housekeeping and events; no garbage in the coarse step.

The beams track a fake beacon: a constant ephemeris at 45 deg elevation (or below the mask), the
camera and the fine sensor publishing the beacon on the boresight for the beams in ``seen``."""

import struct

from bus import mdb
from payload import apt_beam
from payload.apps import SYNC_BY_COMMAND, SYNC_BY_TRACKING, SYNC_NO_BEAM
from tests.flight.payload.ground_stub import Bench, of, failure_code
from tests.flight.payload.hazard_support import arm, may_be_hazardous
from tests.flight.support import garbage_bytes

DAYS = 25000
MS0 = 3600000
ON = mdb.parameter("sync_laser_on")[0]
ARMED = mdb.parameter("sync_laser_armed")[0]


def _bench(el_cdeg=4500, n=100):
    b = Bench()
    b.tc("TIME_SET", DAYS, MS0)
    for beam in (0, 1):
        e = b.app.apt[beam].ephem
        assert e.begin(DAYS, MS0, 2000, n) == 0
        for i in range(n):
            e.put(i, 0, 0, 0, 0, el_cdeg)
        assert e.commit(e.table_crc()) == 0
    return b


def _run(b, ms, seen=(0, 1)):
    """Step the payload ``ms`` ms with the beacon in view of the beams in ``seen``."""
    hal = b.hal
    i = 0
    while i < ms:
        for k in seen:
            hal.fine_sensor[k].publish(0, 0)
            if i % 20 == 0:
                hal.coarse_sensor[k].publish(0, 0)
        b.app.step()
        hal.clock.advance(1000)
        i += 1


def _tc(b, name, *args, seen=(0, 1)):
    """Send a command (armed first when it may be hazardous) while the beacon stays in view of the
    beams in ``seen``; the TM that came back."""
    if may_be_hazardous(name, *args):
        arm(b, name, *args, run=lambda ms: _run(b, ms, seen))
    b.tc(name, *args, ms=0)
    _run(b, 60, seen)
    return b.received()


def _sync_events(tms):
    eid = mdb.event("EV_APT_SYNC_LASER")[0]
    return [tuple(t.app_data[2:5]) for t in tms if t.service == 5 and struct.unpack(">H", t.app_data[:2])[0] == eid]


def _gate(b):
    return b.hal.digital_out["sync_enable"].on


def test_sync_laser_refused_while_every_beam_is_idle():
    b = _bench()
    tms = _tc(b, "SYNC_LASER", 1)
    assert failure_code(of(tms, 1, 8)[0]) == mdb.FAIL_SYNC_NO_BEAM
    assert not b.app.pointing_app.sync_armed and not _gate(b) and not _sync_events(tms)
    assert of(_tc(b, "SYNC_LASER", 0), 1, 7)  # off is always accepted


def test_sync_laser_shines_only_while_a_beam_tracks_a_station_above_the_mask():
    b = _bench()
    _tc(b, "APT_START", 0, seen=())
    assert b.app.apt[0].state == apt_beam.OPEN_LOOP
    tms = _tc(b, "SYNC_LASER", 1, seen=())
    assert of(tms, 1, 7)
    assert _sync_events(tms) == [(0, 1, SYNC_BY_COMMAND)]  # armed, dark: the beam does not track yet
    assert not _gate(b) and b.app.params.get(ARMED) == 1 and b.app.params.get(ON) == 0
    b.lab.tx.clear()
    _run(b, 1000, seen=(0,))
    assert b.app.apt[0].state == apt_beam.FINE
    assert _gate(b) and b.app.params.get(ON) == 1
    assert _sync_events(b.received()) == [(1, 1, SYNC_BY_TRACKING)]
    b.lab.tx.clear()
    _run(b, 100, seen=())  # clouds: no beacon, the beam loses it
    assert b.app.apt[0].state == apt_beam.LOST and not _gate(b)
    assert b.app.pointing_app.sync_armed  # still commanded: it comes back with the beacon
    _run(b, 1000, seen=(0,))
    assert b.app.apt[0].tracking and _gate(b)
    assert _sync_events(b.received()) == [(0, 1, SYNC_BY_TRACKING), (1, 1, SYNC_BY_TRACKING)]
    tms = _tc(b, "SYNC_LASER", 0)
    assert of(tms, 1, 7) and not _gate(b) and _sync_events(tms) == [(0, 0, SYNC_BY_COMMAND)]
    _run(b, 500, seen=(0,))
    assert not _gate(b)  # off stays off while the beam tracks


def test_no_sync_laser_on_a_station_below_the_mask():
    b = _bench(el_cdeg=500)  # 5 deg: below the 10 deg mask
    _tc(b, "APT_START", 1)
    assert of(_tc(b, "SYNC_LASER", 1), 1, 7)
    _run(b, 1000, seen=(1,))
    assert b.app.apt[1].tracking and not b.app.apt[1].in_view
    assert not _gate(b) and not b.hal.digital_out["beacon_enable"].on


def test_sync_laser_cancelled_when_every_beam_is_idle():
    b = _bench()
    _tc(b, "APT_START", 0)
    _tc(b, "APT_START", 1)
    _run(b, 1000)
    _tc(b, "SYNC_LASER", 1)
    assert _gate(b)
    _tc(b, "APT_STOP", 0)
    assert _gate(b)  # beam 1 still tracks its station
    tms = _tc(b, "APT_STOP", 1)
    assert not _gate(b) and not b.app.pointing_app.sync_armed
    assert _sync_events(tms) == [(0, 0, SYNC_NO_BEAM)]
    assert b.app.params.get(ON) == 0 and b.app.params.get(ARMED) == 0
    _tc(b, "APT_START", 0)
    _run(b, 1000)
    assert b.app.apt[0].tracking and not _gate(b)  # the next pass needs a new command


def test_end_of_the_ephemeris_cancels_the_sync_laser():
    b = _bench(n=3)  # a 4 s table
    _tc(b, "APT_START", 0)
    _run(b, 1000)
    _tc(b, "SYNC_LASER", 1)
    assert _gate(b)
    b.lab.tx.clear()
    _run(b, 3000)  # the table ends: the beam goes idle by itself
    assert b.app.apt[0].state == apt_beam.IDLE and not _gate(b)
    assert _sync_events(b.received())[-1] == (0, 0, SYNC_NO_BEAM)


def test_sync_laser_state_in_housekeeping():
    b = _bench()
    _tc(b, "APT_START", 0)
    _run(b, 1000)
    _tc(b, "SYNC_LASER", 1)
    b.lab.tx.clear()
    _run(b, 1000)
    rep = [t for t in of(b.received(), 3, 25) if struct.unpack(">H", t.app_data[:2])[0] == 3][-1]
    decl = [h for h in mdb.HOUSEKEEPING if h[0] == 3][0]
    named = dict(zip(decl[4], struct.unpack(mdb.hk_format(decl), rep.app_data[2:])))
    assert named["sync_laser_on"] == 1 and named["sync_laser_armed"] == 1 and named["beacon_on"] == 1


def test_mp_coarse_step_with_the_sync_laser_allocates_nothing():
    b = _bench()
    _tc(b, "APT_START", 0)
    _tc(b, "APT_START", 1)
    _run(b, 1000)
    _tc(b, "SYNC_LASER", 1)
    app, hal = b.app, b.hal
    assert app.apt[0].state == apt_beam.FINE and app.apt[1].state == apt_beam.FINE and _gate(b)
    sched, fine, pointing = app.sched, app.fine, app.pointing_app
    f0, f1, c0, c1 = hal.fine_sensor[0], hal.fine_sensor[1], hal.coarse_sensor[0], hal.coarse_sensor[1]

    def ten_ms():
        c0.publish(0, 0)
        c1.publish(0, 0)
        k = 0
        while k < 10:
            f0.publish(0, 0)
            f1.publish(0, 0)
            sched.run(fine)
            hal.clock.advance(1000)
            k += 1
        pointing.step()  # the coarse group's pointing task: beams, cancellers, beacon and sync gates
    assert garbage_bytes(ten_ms, 100) == 0
    assert app.apt[0].state == apt_beam.FINE and _gate(b)
