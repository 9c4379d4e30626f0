"""Source monitor: latch, per-cycle coincidences, one basis a second, settling cycle dropped."""

from hal.fake import FakeHal
from payload.quality import BASIS_DA, BASIS_HV, QualityMonitor
from payload.source_monitor import SourceMonitor
from tests.flight.support import garbage_bytes

SINGLES = ("singles_a0", "singles_a1", "singles_b0", "singles_b1")
COINC = ("coinc_a0b0", "coinc_a0b1", "coinc_a1b0", "coinc_a1b1")


def _bench():
    hal = FakeHal()
    q = QualityMonitor(window_ns=1)
    mon = SourceMonitor(hal, hal.digital_out["basis_select"], q)
    return hal, q, mon


def _add(hal, singles, coinc):
    for n, v in zip(SINGLES, singles):
        hal.counters[n].add(v)
    for n, v in zip(COINC, coinc):
        hal.counters[n].add(v)


def test_one_basis_a_second_first_cycle_dropped():
    hal, q, mon = _bench()
    seen = []
    mon.on_update = seen.append
    assert not hal.digital_out["basis_select"].on and mon.basis == BASIS_HV
    for cycle in range(10):
        # H/V: anti-correlated (|HV> + |VH>); the first cycle's counts are garbage and must be dropped
        if cycle == 0:
            _add(hal, (9999, 9999, 9999, 9999), (9999, 9999, 9999, 9999))
        else:
            _add(hal, (16000, 16000, 16000, 16000), (7, 220, 220, 7))
        mon.step(True)
        assert mon.cycle_coincidences == (-1 if cycle == 0 else 454)
    assert seen == [BASIS_HV] and mon.updates == 1
    assert hal.digital_out["basis_select"].on and mon.basis == BASIS_DA
    assert abs(q.pair_rate_hz - 9 * (454 - 4 * 2e-9 * 16000 * 16000 / 0.1) / 0.9) < 1
    assert 0.9 < q.visibility[BASIS_HV] < 1.0 and q.correlation[BASIS_HV] < 0  # anti-correlated
    assert q.visibility[BASIS_DA] == -1.0


def test_hold_da_keeps_the_da_basis():
    hal, q, mon = _bench()
    mon.hold_da = True
    for _ in range(30):
        _add(hal, (16000,) * 4, (220, 7, 7, 220))
        mon.step(True)
    assert mon.basis == BASIS_DA and mon.updates == 3
    assert q.correlation[BASIS_DA] > 0.9


def test_pump_off_counts_nothing_and_zeroes_the_rates():
    hal, q, mon = _bench()
    for _ in range(10):
        _add(hal, (16000,) * 4, (7, 220, 220, 7))
        mon.step(True)
    assert q.pair_rate_hz > 0
    _add(hal, (50,) * 4, (1, 0, 0, 1))
    mon.step(False)
    assert mon.cycle_coincidences == -1 and q.pair_rate_hz == 0.0 and mon.updates == 1
    assert q.visibility[BASIS_HV] > 0.9  # the last measurement stays, as measured


def test_counter_wrap_is_a_small_increment():
    hal, q, mon = _bench()
    for n in SINGLES + COINC:
        hal.counters[n].add(0x3FFFFFF0)
    mon.step(True)
    mon.step(True)  # increments measured from the wrapped values
    _add(hal, (32,) * 4, (10, 0, 0, 10))
    mon.step(True)
    assert mon.cycle_coincidences == 20


def test_mp_counting_cycle_allocates_nothing():
    hal, q, mon = _bench()
    mon.cycles_per_basis = 1000000  # stay inside one basis period: the 1 Hz update may allocate
    mon.step(True)
    assert garbage_bytes(lambda: mon.step(True), 200) == 0
