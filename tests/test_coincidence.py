"""Coincidence kernels: C against the numpy reference and a brute-force statement of the rule,
the physics of correlated tags, and input checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ground_segment import coincidence as co
from ground_segment import coincidence_build

FWHM_PER_SIGMA = 2 * np.sqrt(2 * np.log(2))


@st.composite
def sorted_tags(draw, max_size=60):
    """Sorted int64 tags: spans from 'all within a few ps' (dense, duplicates) to 2**40 ps."""
    span = draw(st.sampled_from([3, 30, 300, 10**5, 2**40]))
    values = draw(st.lists(st.integers(-span, span), max_size=max_size))
    return np.array(sorted(values), np.int64)


windows = st.sampled_from([0, 1, 5, 40, 1000])
offsets = st.integers(-200, 200)


def rule_brute_force(ta, tb, window_ps, offset_ps):
    """The documented rule, literally: each A tag in order takes the earliest unused B tag in its window."""
    used = set()
    pairs = []
    for i, a in enumerate(ta.tolist()):
        for j, b in enumerate(tb.tolist()):
            if j not in used and abs(b - offset_ps - a) <= window_ps:
                used.add(j)
                pairs.append((i, j))
                break
    return pairs


def maximum_pairing_size(ta, tb, window_ps, offset_ps):
    """Size of a maximum pairing (augmenting paths), to show the rule loses no pair."""
    ok = np.abs(tb[None, :] - offset_ps - ta[:, None]) <= window_ps
    owner = [-1] * tb.size

    def augment(i, seen):
        for j in np.flatnonzero(ok[i]).tolist():
            if j not in seen:
                seen.add(j)
                if owner[j] < 0 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(ta.size))


@given(sorted_tags(), sorted_tags(), windows, offsets)
def test_find_coincidences_c_equals_numpy_equals_rule(ta, tb, window_ps, offset_ps):
    ia, ib = co.find_coincidences(ta, tb, window_ps, offset_ps, impl="c")
    na, nb = co.find_coincidences(ta, tb, window_ps, offset_ps, impl="numpy")
    assert ia.dtype == ib.dtype == na.dtype == nb.dtype == np.int64
    np.testing.assert_array_equal(ia, na)
    np.testing.assert_array_equal(ib, nb)
    assert list(zip(ia.tolist(), ib.tolist())) == rule_brute_force(ta, tb, window_ps, offset_ps)
    assert np.all(np.diff(ia) > 0) and np.all(np.diff(ib) > 0)
    assert np.all(np.abs(tb[ib] - offset_ps - ta[ia]) <= window_ps)


@given(sorted_tags(max_size=25), sorted_tags(max_size=25), windows, offsets)
def test_rule_pairs_as_many_tags_as_any_pairing(ta, tb, window_ps, offset_ps):
    ia, _ = co.find_coincidences(ta, tb, window_ps, offset_ps)
    assert ia.size == maximum_pairing_size(ta, tb, window_ps, offset_ps)


@given(sorted_tags(), sorted_tags(), st.integers(1, 400), st.sampled_from([1, 3, 7, 64]))
def test_delay_histogram_c_equals_numpy_equals_brute_force(ta, tb, max_delay_ps, bin_ps):
    c = co.delay_histogram(ta, tb, max_delay_ps, bin_ps, impl="c")
    n = co.delay_histogram(ta, tb, max_delay_ps, bin_ps, impl="numpy")
    d = np.subtract.outer(tb, ta).ravel()
    d = d[(d >= -max_delay_ps) & (d < max_delay_ps)]
    nbins = 2 * -(-max_delay_ps // bin_ps)
    brute = np.bincount((d + max_delay_ps) // bin_ps, minlength=nbins)
    assert c.dtype == n.dtype == np.int64 and c.size == nbins
    np.testing.assert_array_equal(c, n)
    np.testing.assert_array_equal(c, brute)


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.integers(256, 3000), st.integers(0, 3000),
       st.sampled_from([1, 4, 30, 10**4]), st.sampled_from([0, 2, 25, 3000]), st.integers(-5000, 5000))
def test_long_inputs_c_equals_numpy(seed, n_a, n_b, mean_gap_ps, window_ps, offset_ps):
    """Inputs long enough for the C kernel to split A into interleaved sweeps, at densities
    from many candidates per window (clashes, few places to split) to sparse."""
    rng = np.random.default_rng(seed)
    ta = np.cumsum(rng.integers(0, 2 * mean_gap_ps + 1, n_a))
    tb = np.cumsum(rng.integers(0, 2 * mean_gap_ps + 1, n_b)) + rng.integers(-n_b * mean_gap_ps, n_b * mean_gap_ps + 1)
    c = co.find_coincidences(ta, tb, window_ps, offset_ps)
    n = co.find_coincidences(ta, tb, window_ps, offset_ps, impl="numpy")
    np.testing.assert_array_equal(c[0], n[0])
    np.testing.assert_array_equal(c[1], n[1])
    assert np.all(np.diff(c[0]) > 0) and np.all(np.diff(c[1]) > 0)
    assert np.all(np.abs(tb[c[1]] - offset_ps - ta[c[0]]) <= window_ps)
    max_delay_ps = window_ps + 1
    np.testing.assert_array_equal(co.delay_histogram(ta, tb, max_delay_ps, 3),
                                  co.delay_histogram(ta, tb, max_delay_ps, 3, impl="numpy"))


@pytest.mark.parametrize("seed", range(3))
def test_dense_clusters_c_equals_numpy(seed):
    """Thousands of tags with several candidates each: long clusters for the reference's fix-up."""
    rng = np.random.default_rng(seed)
    ta = np.sort(rng.integers(0, 20_000, 4000))
    tb = np.sort(rng.integers(0, 20_000, 5000))
    for window_ps, offset_ps in ((3, 0), (20, -7), (0, 5)):
        c = co.find_coincidences(ta, tb, window_ps, offset_ps)
        n = co.find_coincidences(ta, tb, window_ps, offset_ps, impl="numpy")
        np.testing.assert_array_equal(c[0], n[0])
        np.testing.assert_array_equal(c[1], n[1])
    np.testing.assert_array_equal(co.delay_histogram(ta, tb, 300, 7),
                                  co.delay_histogram(ta, tb, 300, 7, impl="numpy"))


@pytest.mark.parametrize("impl", ["c", "numpy"])
def test_empty_inputs(impl):
    empty, some = np.empty(0, np.int64), np.arange(5, dtype=np.int64)
    for ta, tb in ((empty, empty), (empty, some), (some, empty)):
        ia, ib = co.find_coincidences(ta, tb, 10, impl=impl)
        assert ia.size == ib.size == 0 and ia.dtype == ib.dtype == np.int64
        h = co.delay_histogram(ta, tb, 10, 3, impl=impl)
        assert h.size == 8 and not h.any()


def test_correlated_tags_show_offset_pairs_and_accidentals():
    """Pairs with 350 ps FWHM jitter at a known offset in 2e5/s singles: the histogram peaks at the
    offset, nearly all pairs are found, and the rest match 2 * window * rA * rB * T accidentals."""
    rng = np.random.default_rng(7)
    duration_ps, offset_ps, window_ps = 2 * 10**12, 123_456, 1000
    n_pairs, n_background = 10_000, 390_000
    t_pair = rng.integers(0, duration_ps, n_pairs)
    jitter = np.rint(rng.normal(0, 350 / FWHM_PER_SIGMA, n_pairs)).astype(np.int64)
    ta_all = np.concatenate([t_pair, rng.integers(0, duration_ps, n_background)])
    tb_all = np.concatenate([t_pair + offset_ps + jitter, rng.integers(0, duration_ps, n_background)])
    order_a, order_b = np.argsort(ta_all, kind="stable"), np.argsort(tb_all, kind="stable")
    ta, tb = ta_all[order_a], tb_all[order_b]

    bin_ps = 100
    hist = co.delay_histogram(ta, tb, 500_000, bin_ps)
    peak_ps = -500_000 + (np.argmax(hist) + 0.5) * bin_ps
    assert abs(peak_ps - offset_ps) <= 2 * bin_ps

    ia, ib = co.find_coincidences(ta, tb, window_ps, offset_ps)
    true_pair = (order_a[ia] < n_pairs) & (order_a[ia] == order_b[ib])
    assert true_pair.sum() >= 0.95 * n_pairs
    r_a, r_b = ta.size / duration_ps, tb.size / duration_ps  # per ps
    expected = 2 * window_ps * r_a * r_b * duration_ps  # 160
    accidentals = int((~true_pair).sum())
    assert abs(accidentals - expected) <= 4 * np.sqrt(expected)


@pytest.mark.parametrize("impl", ["c", "numpy"])
def test_invalid_inputs_raise_value_error(impl):
    ok = np.array([1, 2, 3], np.int64)
    cases = [
        (lambda: co.find_coincidences(ok.astype(np.int32), ok, 5, impl=impl), "1-D int64"),
        (lambda: co.find_coincidences(ok, [1, 2, 3], 5, impl=impl), "1-D int64"),
        (lambda: co.find_coincidences(ok.reshape(3, 1), ok, 5, impl=impl), "1-D int64"),
        (lambda: co.find_coincidences(ok, ok[::-1].copy(), 5, impl=impl), "t_b_ps must be sorted"),
        (lambda: co.find_coincidences(ok, ok, -1, impl=impl), "window_ps"),
        (lambda: co.find_coincidences(ok, ok, 1.5, impl=impl), "window_ps"),
        (lambda: co.find_coincidences(ok, ok, 5, offset_ps=2**62, impl=impl), "offset_ps"),
        (lambda: co.find_coincidences(ok * 2**61, ok, 5, impl=impl), "2\\*\\*61"),
        (lambda: co.find_coincidences(ok, ok, 5, impl="fortran"), "impl"),
        (lambda: co.delay_histogram(np.array([3, 1], np.int64), ok, 10, 2, impl=impl), "t_a_ps must be sorted"),
        (lambda: co.delay_histogram(ok, ok, 10, 0, impl=impl), "bin_ps"),
        (lambda: co.delay_histogram(ok, ok, 0, 2, impl=impl), "max_delay_ps"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match) as info:
            call()
        assert "\n" not in str(info.value)


def test_strided_input_gives_same_result():
    ta = np.arange(0, 2000, 7, dtype=np.int64)
    tb = np.arange(0, 4000, 5, dtype=np.int64)[::2]
    c = co.find_coincidences(ta, tb, 2)
    n = co.find_coincidences(ta, tb, 2, impl="numpy")
    np.testing.assert_array_equal(c[0], n[0])
    np.testing.assert_array_equal(c[1], n[1])


def test_changed_source_gets_a_new_module_name():
    src = coincidence_build.SOURCE.read_text()
    assert coincidence_build._module_name(src) != coincidence_build._module_name(src + "\n")


def test_failed_build_raises_one_line_runtime_error(tmp_path, monkeypatch):
    bad = tmp_path / "bad.c"
    bad.write_text("this is not C;\n")
    monkeypatch.setattr(coincidence_build, "SOURCE", bad)
    monkeypatch.setattr(coincidence_build, "CACHE_DIR", tmp_path / "cache")
    with pytest.raises(RuntimeError, match="could not build the coincidence kernel") as info:
        coincidence_build.build()
    assert "\n" not in str(info.value)
    assert not list((tmp_path / "cache").iterdir())  # no half-built file left behind
