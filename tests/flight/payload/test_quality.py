"""Source quality from counts: accidentals, visibility, heralding, CHSH."""

from payload.quality import QualityMonitor, BASIS_HV, BASIS_DA
from tests.flight.support import raises


def _counts(pairs, v, correlated, singles_extra, period_s=1.0, tau_ns=1):
    """Ideal counts for ``pairs`` detected pairs of visibility v plus uncorrelated singles."""
    good = pairs * (1 + v) / 4
    bad = pairs * (1 - v) / 4
    s = pairs / 2 + singles_extra
    singles = (s, s, s, s)
    acc = 2 * tau_ns * 1e-9 * s * s / period_s
    if correlated:
        coinc = (good + acc, bad + acc, bad + acc, good + acc)
    else:
        coinc = (bad + acc, good + acc, good + acc, bad + acc)
    return singles, coinc


def test_visibility_recovered_after_accidentals():
    q = QualityMonitor(window_ns=1)
    singles, coinc = _counts(4000, 0.97, False, 200000)  # H/V: anti-correlated pairs
    v = q.update(BASIS_HV, 1.0, singles, coinc)
    assert abs(v - 0.97) < 1e-9
    assert abs(q.pair_rate_hz - 4000) < 1e-6
    acc = 4 * 2e-9 * 202000 * 202000
    assert abs(q.accidental_rate_hz - acc) < 1e-6


def test_chsh_implied_by_both_bases():
    q = QualityMonitor()
    assert q.chsh_s == 0.0
    s1, c1 = _counts(5000, 0.96, False, 1000)
    s2, c2 = _counts(5000, 0.95, True, 1000)  # D/A: correlated
    q.update(BASIS_HV, 1.0, s1, c1)
    q.update(BASIS_DA, 1.0, s2, c2)
    assert abs(q.chsh_s - 1.4142135623730951 * 1.91) < 1e-9


def test_heralding_efficiency():
    q = QualityMonitor(window_ns=0)
    q.update(BASIS_HV, 1.0, (5000, 5000, 5000, 5000), (0, 1000, 1000, 0))
    assert abs(q.heralding - 0.2) < 1e-12  # 2000 pairs over sqrt(10000 x 10000)


def test_too_few_coincidences_leave_visibility_unmeasured():
    q = QualityMonitor(min_coincidences=50)
    assert q.update(BASIS_DA, 1.0, (100, 100, 100, 100), (10, 0, 0, 10)) == -1.0
    raises(ValueError, q.update, BASIS_HV, 0, (1, 1, 1, 1), (1, 1, 1, 1))
