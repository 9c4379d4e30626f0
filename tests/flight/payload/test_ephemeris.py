"""On-board pointing ephemeris: loading, checks that refuse bad tables, interpolation, staleness."""

from array import array

from payload import ephemeris as ep


def _load(e, n=10, step_ms=2000, a0=100000, da=20000, days=25000, ms=3600000, crc=None, skip=None,
          el=3000):
    assert e.begin(days, ms, step_ms, n) == ep.OK
    for i in range(n):
        if i == skip:
            continue
        assert e.put(i, a0 + da * i, -50000 + 1000 * i, 250, -120, el + i) == ep.OK
    return e.commit(e.table_crc() if crc is None else crc)


def test_a_good_table_commits_and_interpolates():
    e = ep.Ephemeris()
    assert _load(e) == ep.OK and e.valid and e.commits == 1 and e.span_ms == 18000
    out = array("i", [0] * 7)
    assert e.at(25000, 3600000 + 3000, out)  # 1.5 steps in
    assert out[0] == 100000 + 30000 and out[1] == -50000 + 1500
    assert out[2] == 10000 and out[3] == 500  # urad/s
    assert out[4] == 25000 and out[5] == -12000  # nrad
    assert out[6] == 3001


def test_outside_the_table_is_stale_or_not_yet():
    e = ep.Ephemeris()
    _load(e)
    out = array("i", [7] * 7)
    assert not e.at(25000, 3600000 - 1, out)
    assert not e.at(25000, 3600000 + 18001, out)
    assert not e.at(25001, 3600000, out)  # a day later
    assert out[0] == 7  # untouched
    assert e.at(25000, 3600000 + 18000, out) and out[0] == 100000 + 9 * 20000


def test_bad_tables_are_refused_and_the_last_good_one_stays():
    e = ep.Ephemeris()
    assert _load(e) == ep.OK
    assert _load(e, crc=0x1234) == ep.REFUSED_CRC
    assert _load(e, skip=4) == ep.REFUSED_INCOMPLETE
    assert _load(e, a0=1500000) == ep.REFUSED_TRAVEL  # beyond 80 deg
    assert _load(e, da=200000) == ep.REFUSED_RATE  # 100 mrad/s: the gimbal cannot
    assert _load(e, el=9500) == ep.REFUSED_ELEVATION
    assert e.begin(25000, 0, 50, 10) == ep.REFUSED_SIZE
    assert e.begin(25000, 0, 1000, 1) == ep.REFUSED_SIZE
    assert e.begin(25000, 0, 1000, ep.MAX_POINTS + 1) == ep.REFUSED_SIZE
    assert e.begin(25000, 86400000, 1000, 10) == ep.REFUSED_SIZE
    out = array("i", [0] * 7)
    assert e.valid and e.commits == 1 and e.at(25000, 3600000, out) and out[0] == 100000  # still the first


def test_put_and_commit_need_a_begin_and_indices_inside():
    e = ep.Ephemeris()
    assert e.put(0, 0, 0, 0, 0, 0) == ep.REFUSED_NO_TABLE
    assert e.commit(0) == ep.REFUSED_NO_TABLE
    e.begin(25000, 0, 1000, 4)
    assert e.put(4, 0, 0, 0, 0, 0) == ep.REFUSED_INDEX
    assert e.put(-1, 0, 0, 0, 0, 0) == ep.REFUSED_INDEX


def test_negative_values_round_trip_through_the_crc():
    e = ep.Ephemeris()
    assert _load(e, a0=-900000, da=1000) == ep.OK
