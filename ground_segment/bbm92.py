"""One pass at the two ground stations: from their own time-tag files to sifted key or a Bell test.

Station A (beam 0's station) leads.  The exchange, as the classical channel carries it:

1. each station maps its photon tags to the satellite's time scale with the
   sync pulses it received (ground_segment/clock_sync.py);
2. B -> A: B's mapped tags with the analyser setting of each (not the port);
3. A cross-correlates, finds the coincidences within +/- the window
   (ground_segment/coincidence.py) and
4. A -> B: the coincidences' indices with A's setting of each (key mode), or
   with A's setting and port (Bell mode, where outcomes are public);
5. both keep the coincidences measured with the same setting (BBM92 sifting
   with passive basis choice); in Z (H/V) the state gives opposite outcomes,
   so B flips its bit there.

Every message's size is recorded: the authentication of the classical channel
costs key in proportion to their number (ground_segment/authentication.py).
The accidental rate is read off the coarse cross-correlation away from its
peak.  Nothing here reads the simulator.
"""

from dataclasses import dataclass, field

import numpy as np

from ground_segment import clock_sync, coincidence
from ground_segment.timetags import TimeTags

TIME_BITS = 64  # a mapped tag on the classical channel
INDEX_BITS = 32


@dataclass
class PassData:
    """What the stations keep from one pass."""

    link_s: float = 0.0  # time both stations received the satellite's sync pulses
    coincidences: int = 0
    accidental_rate_hz: float = 0.0
    offset_ns: float = 0.0  # B's mapped time scale against A's (cross-correlation)
    drift: float = 0.0
    alice_bits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    bob_bits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    basis: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))  # 0 Z (H/V), 1 X (D/A)
    t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # coincidence times since A's first pulse
    bell_counts: np.ndarray = field(default_factory=lambda: np.zeros((2, 2, 2, 2), np.int64))  # [sa, sb, pa, pb]
    messages_bits: list = field(default_factory=list)
    note: str = ""


def process_pass(tags_a: TimeTags, tags_b: TimeTags, mode: str, half_window_ps: int, light_times=(None, None)) \
        -> PassData:
    """Run steps 1-5 for one pass; a pass the stations cannot align returns a PassData with its note.

    ``light_times``: each station's predicted light time (clock_sync.predicted_light_time), to number
    the sync pulses; without them the cross-correlation must find whole periods too (a wider search).
    """
    if mode not in ("key", "bell"):
        raise ValueError(f"mode must be 'key' or 'bell', not {mode!r}")
    out = PassData()
    period_ps = int(tags_a.header["sync_period_ps"])
    mapped = []
    for tags, lt in zip((tags_a, tags_b), light_times):
        t, ch = tags.photons()
        sync = tags.sync()
        try:
            t_sat, keep = clock_sync.map_to_satellite(t, sync, period_ps, lt)
        except clock_sync.SyncError as e:
            out.note = f"{tags.station}: {e}"
            return out
        mapped.append((t_sat, ch[keep], sync))
    (ta, cha, sync_a), (tb, chb, sync_b) = mapped
    tb = tb + (tags_b.epoch_unix - tags_a.epoch_unix) * 1e12  # on A's epoch
    span_a = (sync_a[0], sync_a[-1])
    span_b = (sync_b[0], sync_b[-1])
    out.link_s = max(0.0, min(span_a[1] - span_a[0], span_b[1] - span_b[0])) * 1e-12
    out.messages_bits.append(len(tb) * (TIME_BITS + 1))  # B -> A: times and settings
    # without predicted light times the pulse numbers can be off by the light-time difference: +/- 6 ms
    search = clock_sync.SEARCH_PS if all(lt is not None for lt in light_times) else 60 * period_ps
    try:
        al = clock_sync.align(ta, tb, search)
    except clock_sync.SyncError as e:
        out.note = str(e)
        return out
    out.offset_ns = al.offset_ps / 1000.0
    out.drift = al.drift
    a = np.rint(ta).astype(np.int64)
    b = np.rint(al.shift(tb)).astype(np.int64)
    order = np.argsort(b, kind="stable")  # the drift correction keeps order; be sure
    b, chb = b[order], chb[order]
    ia, ib = coincidence.find_coincidences(a, b, half_window_ps)
    out.coincidences = len(ia)
    out.accidental_rate_hz = (al.accidental_per_bin * (2 * half_window_ps / 100_000)
                              / out.link_s) if out.link_s > 0 else 0.0
    sa, pa = cha[ia] // 2, cha[ia] % 2
    sb, pb = chb[ib] // 2, chb[ib] % 2
    out.t_s = (a[ia] - a[0]) * 1e-12 if len(ia) else np.zeros(0)
    if mode == "key":
        out.messages_bits.append(len(ia) * (INDEX_BITS + 1))  # A -> B: indices and A's settings
        out.messages_bits.append(len(ia))  # B -> A: B's settings of those
        same = sa == sb
        out.basis = sa[same].astype(np.uint8)
        out.alice_bits = pa[same].astype(np.uint8)
        out.bob_bits = (pb[same] ^ (sb[same] == 0)).astype(np.uint8)
        out.t_s = out.t_s[same]
    else:
        out.messages_bits.append(len(ia) * (INDEX_BITS + 2))  # both reveal settings and outcomes
        out.messages_bits.append(len(ia) * 2)
        np.add.at(out.bell_counts, (sa, sb, pa, pb), 1)
    return out


def chsh(counts) -> tuple:
    """S and its standard error from the coincidence counts [sa, sb, pa, pb] of the four setting pairs.

    ``E = (N_same - N_diff) / N`` per setting pair, ``sigma_E^2 = (1 - E^2) / N``
    (binomial); S is the largest of the four CHSH combinations ``|sum E - 2 E_k|``
    (the one the settings make maximal), ``sigma_S^2 = sum sigma_E^2``.
    Returns (None, None) when a setting pair has no coincidence.
    """
    c = np.asarray(counts, dtype=np.float64)
    n = c.sum(axis=(2, 3))
    if np.any(n == 0):
        return None, None
    e = (c[:, :, 0, 0] + c[:, :, 1, 1] - c[:, :, 0, 1] - c[:, :, 1, 0]) / n
    flat = e.ravel()
    s = max(abs(flat.sum() - 2 * flat[k]) for k in range(4))
    sigma = float(np.sqrt(np.sum((1.0 - flat ** 2) / n.ravel())))
    return float(s), sigma
