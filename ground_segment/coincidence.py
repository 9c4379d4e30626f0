"""Coincidence finding between two ground stations' photon time tags: C kernels and a numpy reference.

Both stations' tags are int64 picoseconds on a common time scale, sorted ascending.

``find_coincidences`` pairs tags with ``|t_b[j] - offset_ps - t_a[i]| <= window_ps``.
Each tag is used at most once, by this rule: walk A in time order; each A tag takes
the earliest B tag that is still unused and inside its window.  The windows' ends
both move forward with A, so the rule needs one forward pointer (O(n + m)), the
matched B indices increase with the A indices, and no other pairing of the same
tags has more pairs (an exchange argument: any maximum pairing can be rewritten,
A tag by A tag, into this one).

``delay_histogram`` is the cross-correlation the stations use to find their relative
clock offset: the histogram of every pairwise delay ``d = t_b[j] - t_a[i]`` with
``-max_delay_ps <= d < max_delay_ps``, in ``2 * ceil(max_delay_ps / bin_ps)`` bins,
bin k covering ``[-max_delay_ps + k * bin_ps, -max_delay_ps + (k + 1) * bin_ps)``.

``impl="c"`` runs ground_segment/_coincidence.c (compiled with cffi on first use,
see coincidence_build.py); ``impl="numpy"`` runs the vectorised reference, which
the tests hold the C kernels to, result for result.
"""

from __future__ import annotations

import operator

import numpy as np

from ground_segment.coincidence_build import build, load

__all__ = ["build", "delay_histogram", "find_coincidences", "MAX_ABS_PS"]

MAX_ABS_PS = 1 << 61  # bound on |tags|, |offset|, window and max delay (ps, ~26.7 days): sums stay in int64
_IMPLS = ("c", "numpy")
_CHUNK_TAGS = 64  # A tags whose window ends the reference's clash fix-up looks up at once
_kernels = None  # (ffi, lib) once loaded


def _lib():
    global _kernels
    if _kernels is None:
        _kernels = load()
    return _kernels


def _int_arg(name: str, value, minimum: int) -> int:
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer number of picoseconds, got {value!r}") from None
    if not minimum <= v <= MAX_ABS_PS:
        raise ValueError(f"{name} must be in [{minimum}, 2**61] ps, got {v}")
    return v


def _check_impl(impl: str) -> None:
    if impl not in _IMPLS:
        raise ValueError(f"impl must be one of {_IMPLS}, got {impl!r}")


def _tags(name: str, t, impl: str) -> np.ndarray:
    """``t`` as a contiguous 1-D int64 array after checking it is sorted and within range."""
    if not isinstance(t, np.ndarray) or t.dtype != np.int64 or t.ndim != 1:
        desc = f"{t.ndim}-D {t.dtype} array" if isinstance(t, np.ndarray) else type(t).__name__
        raise ValueError(f"{name} must be a 1-D int64 numpy array, got {desc}")
    t = np.ascontiguousarray(t)
    if t.size == 0:
        return t
    if impl == "c":
        ffi, lib = _lib()
        bad = lib.qs_first_unsorted(ffi.from_buffer("int64_t[]", t), t.size)
    else:
        descents = np.flatnonzero(t[1:] < t[:-1])
        bad = int(descents[0]) + 1 if descents.size else -1
    if bad >= 0:
        raise ValueError(f"{name} must be sorted ascending: element {bad} ({t[bad]}) < element {bad - 1} ({t[bad - 1]})")
    if max(-int(t[0]), int(t[-1])) > MAX_ABS_PS:
        raise ValueError(f"{name} must stay within +-2**61 ps")
    return t


def find_coincidences(t_a_ps: np.ndarray, t_b_ps: np.ndarray, window_ps: int, offset_ps: int = 0,
                      impl: str = "c") -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) with ``|t_b_ps[j] - offset_ps - t_a_ps[i]| <= window_ps``, each tag used at most once.

    Rule (module docstring): each A tag, in time order, takes the earliest unused B tag
    in its window.  Returns int64 index arrays ``(idx_a, idx_b)`` of equal length, both
    increasing.
    """
    _check_impl(impl)
    window_ps = _int_arg("window_ps", window_ps, 0)
    offset_ps = _int_arg("offset_ps", offset_ps, -MAX_ABS_PS)
    ta = _tags("t_a_ps", t_a_ps, impl)
    tb = _tags("t_b_ps", t_b_ps, impl)
    if ta.size == 0 or tb.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if impl == "numpy":
        return _find_numpy(ta, tb, window_ps, offset_ps)
    ffi, lib = _lib()
    cap = min(ta.size, tb.size)
    ia = np.empty(cap, np.int64)
    ib = np.empty(cap, np.int64)
    n = lib.qs_find_coincidences(ffi.from_buffer("int64_t[]", ta), ta.size, ffi.from_buffer("int64_t[]", tb),
                                 tb.size, window_ps, offset_ps, ffi.from_buffer("int64_t[]", ia, True),
                                 ffi.from_buffer("int64_t[]", ib, True))
    return ia[:n].copy(), ib[:n].copy()


def _find_numpy(ta: np.ndarray, tb: np.ndarray, window_ps: int, offset_ps: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference for find_coincidences, vectorised with one searchsorted.

    ``lo[i]`` is A tag i's first candidate (first B tag >= its window's start); it has
    one when ``tb[lo[i]]`` is inside the window.  Taking ``lo`` for every A tag with a
    candidate is the rule's answer unless two of them share it (a clash).  From a
    clash on, the rule itself runs tag by tag (take ``max(lo[i], last used + 1)`` if
    still in the window) until an A tag's ``lo`` is past the last B tag used: from there
    the rule's answer is ``lo`` again.  At realistic rates clashes are rare.
    """
    lo = np.searchsorted(tb, ta + (offset_ps - window_ps), "left")
    has = (lo < tb.size) & (np.take(tb, lo, mode="clip") <= ta + (offset_ps + window_ps))
    idx_a = np.flatnonzero(has)
    idx_b = lo[idx_a]
    clash = np.flatnonzero(idx_b[1:] == idx_b[:-1]) + 1  # positions in idx_a
    if clash.size == 0:
        return idx_a, idx_b
    match = np.full(ta.size, -1, np.int64)  # B index paired with each A tag; -1: none
    match[idx_a] = idx_b
    fixed_to = 0  # A tags before this one are final
    for p in clash.tolist():
        x = int(idx_a[p])
        if x < fixed_to:
            continue
        # the tag before (p - 1) is at or after fixed_to, as every lo from there on exceeds
        # the lo of every tag fixed up before, so its lo is the rule's answer: the last B used
        last = int(idx_b[p - 1])
        in_step = True  # the rule's answer still differs from lo
        while in_step and x < ta.size:  # the rule, tag by tag, in chunks of A tags
            end = min(x + _CHUNK_TAGS, ta.size)
            hi = np.searchsorted(tb, ta[x:end] + (offset_ps + window_ps), "right")  # window ends
            for lo_x, hi_x in zip(lo[x:end].tolist(), hi.tolist()):
                if lo_x > last:
                    in_step = False
                    break
                if last + 1 < hi_x:  # max(lo_x, last + 1) is last + 1 here
                    last += 1
                    match[x] = last
                else:
                    match[x] = -1
                x += 1
        fixed_to = x
    idx_a = np.flatnonzero(match >= 0)
    return idx_a, match[idx_a]


def delay_histogram(t_a_ps: np.ndarray, t_b_ps: np.ndarray, max_delay_ps: int, bin_ps: int,
                    impl: str = "c") -> np.ndarray:
    """Counts of all pairwise delays ``t_b_ps[j] - t_a_ps[i]`` in [-max_delay_ps, max_delay_ps).

    ``2 * ceil(max_delay_ps / bin_ps)`` int64 bins, bin k from ``-max_delay_ps + k * bin_ps``.
    Its peak is the B station's clock offset against A.
    """
    _check_impl(impl)
    max_delay_ps = _int_arg("max_delay_ps", max_delay_ps, 1)
    bin_ps = _int_arg("bin_ps", bin_ps, 1)
    ta = _tags("t_a_ps", t_a_ps, impl)
    tb = _tags("t_b_ps", t_b_ps, impl)
    counts = np.zeros(2 * -(-max_delay_ps // bin_ps), np.int64)
    if ta.size == 0 or tb.size == 0:
        return counts
    if impl == "numpy":
        _histogram_numpy(ta, tb, max_delay_ps, bin_ps, counts)
        return counts
    ffi, lib = _lib()
    lib.qs_delay_histogram(ffi.from_buffer("int64_t[]", ta), ta.size, ffi.from_buffer("int64_t[]", tb), tb.size,
                           max_delay_ps, bin_ps, ffi.from_buffer("int64_t[]", counts, True))
    return counts


def _histogram_numpy(ta: np.ndarray, tb: np.ndarray, max_delay_ps: int, bin_ps: int, counts: np.ndarray) -> None:
    """Reference for delay_histogram: adds the delays to ``counts``.

    ``j`` starts at each A tag's first B tag with a delay >= -max_delay_ps (searchsorted);
    each round counts the delay to B tag j of every A tag still below +max_delay_ps and
    moves those tags' j on, so there are as many rounds as the most delays of one A tag.
    """
    j = np.searchsorted(tb, ta - max_delay_ps, "left")
    a = None  # A tags with delays left to count (None: all)
    while a is None or a.size:
        d = np.take(tb, j, mode="clip") - (ta if a is None else ta[a])
        more = np.flatnonzero((j < tb.size) & (d < max_delay_ps))
        counts += np.bincount((d[more] + max_delay_ps) // bin_ps, minlength=counts.size)
        a, j = (more if a is None else a[more]), j[more] + 1
