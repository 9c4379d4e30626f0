"""Pairs into detections: the two quantum downlinks of a pass, photon by photon, into each station's tags.

Input is what the lock-step run recorded: per fine tick the pointing plant's
truth error of each beam, at 10 Hz the source's truth (pair rate, the state's
phase, whether the source emits and whether the flight code has the sync laser
on), and the pass geometry (range, elevation).  Per tick, with ``R`` the pair
rate and ``eta_A``, ``eta_B`` the two links' detection probabilities
(sim/quantum_link.py), three independent Poisson streams are drawn: pairs
detected at both stations (``R eta_A eta_B``), at A only (``R eta_A (1 -
eta_B)``) and at B only.  That is the exact thinning of the pair stream, so no
undetected pair is ever generated (a Micius pass emits ~1e9 pairs; ~1e3 arrive
in pairs).  Background counts are uniform over each station's recording span.

Each station splits its photons passively between two analyser settings (a
50/50 beam splitter) and a polarising beam splitter sends each to one of two
detectors.  A pair's two outcomes are drawn from the state's joint
probabilities (sim/spdc.py ``outcome_probabilities`` with the source's
visibility and its phase at that moment); a lone photon or a background count
goes to either port with probability 1/2.

Eavesdropper (``eve_fraction``): intercept-resend on that fraction of the
photons bound for station B.  Eve measures in a random one of the two key
bases (the joint statistics of A and Eve are those of the state) and sends on
a photon polarised along her result; B's analyser at angle ``beta`` passes it
to port 0 with probability ``cos^2(beta - theta_Eve)`` (Malus).

Times: a pair is born at ``t_e`` (uniform within its tick); a photon reaches
the station at ``t_e + L/c`` (range interpolated from the 0.1 s geometry),
where the detector adds its delay and Gaussian jitter and the station's clock
its offset and drift.  The satellite fires a sync pulse at every multiple of
``sync_period_s`` of UTC while the flight code's ``sync_enable`` is on; each
reaches the station with ``sync_detect_probability`` while the beam points
within a few divergences of it.

Nothing the ground chain reads comes from here except the tag files; the
``truth`` this module returns (error probability of each true pair, expected
accidentals) is for the summary's ``qber_truth`` only.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from sim.quantum_link import C_M_S, link_efficiency

KEY_ANGLES_DEG = ((0.0, 45.0), (0.0, 45.0))  # station A, station B: setting 0, setting 1
BELL_ANGLES_DEG = ((0.0, 45.0), (22.5, 67.5))  # CHSH settings for (|HV>+|VH>)/sqrt(2)
SYNC_WIDE = 4.0  # the sync beam's divergence over the quantum beam's (it must reach the station first)


@dataclass
class ChannelTruth:
    """The simulator's own account, for comparison beside what the ground measures."""

    pairs_both: int = 0  # pairs detected at both stations
    sifted_pairs: int = 0  # of those, same analyser setting at both (key mode)
    sifted_pair_errors: int = 0  # of those, outcomes that disagree after B's bit flip in Z
    expected_accidentals_sifted: float = 0.0  # within the ground's window, same setting
    eve_intercepted: int = 0
    series: dict = field(default_factory=dict)  # per-second link figures for plots and the summary

    @property
    def qber(self):
        n = self.sifted_pairs + self.expected_accidentals_sifted
        if n <= 0:
            return None
        return (self.sifted_pair_errors + 0.5 * self.expected_accidentals_sifted) / n


class PhotonChannel:
    def __init__(self, rng: np.random.Generator, link, stations, monitor_tap: float, visibility: float,
                 mode: str = "key", eve_fraction: float = 0.0, sync_period_s: float = 1e-4,
                 half_window_s: float = 1e-9, el_mask_deg: float = 10.0):
        if mode not in ("key", "bell"):
            raise ValueError(f"mode must be 'key' or 'bell', not {mode!r}")
        if not 0.0 <= eve_fraction <= 1.0:
            raise ValueError(f"eavesdropper fraction {eve_fraction} outside 0..1")
        link.check()
        for name, st in stations:
            st.check(name)
        self.rng = rng
        self.link = link
        self.stations = stations  # [(name, StationOptics), (name, StationOptics)]: beam 0, beam 1
        self.monitor_tap = monitor_tap
        self.visibility = visibility
        self.mode = mode
        self.eve_fraction = eve_fraction
        self.sync_period_s = sync_period_s
        self.half_window_s = half_window_s
        self.el_mask_deg = el_mask_deg
        self.angles_rad = np.radians(BELL_ANGLES_DEG if mode == "bell" else KEY_ANGLES_DEG)

    # -- per tick: link efficiencies and rates ------------------------------------------------
    def efficiencies(self, geometry, t_s, err_urad):
        """eta[b, k] per beam at run times ``t_s``; also range (m) and elevation (deg)."""
        beams = len(self.stations)
        eta = np.zeros((beams, len(t_s)))
        rng_m = np.zeros_like(eta)
        el = np.zeros_like(eta)
        for b in range(beams):
            rng_m[b] = np.interp(t_s, geometry.t_s, geometry.range_km[b]) * 1000.0
            el[b] = np.interp(t_s, geometry.t_s, geometry.el_deg[b])
            eta[b] = link_efficiency(rng_m[b], el[b], err_urad[b], self.monitor_tap, self.link, self.stations[b][1])
            eta[b][el[b] < self.el_mask_deg] = 0.0  # the station's telescope follows the satellite above its mask
        return eta, rng_m, el

    def run(self, t0_unix: float, geometry, dt_s: float, err_urad, source_t_s, pair_rate_hz, phase_rad,
            emitting, sync_on):
        """Detections of the whole run: {station: (t_station_s, channel)} and the ChannelTruth.

        ``err_urad[b, k]``: truth pointing error per tick; the 10 Hz source arrays
        are held over their interval.
        """
        rng = self.rng
        n = err_urad.shape[1]
        t_s = np.arange(n) * dt_s
        eta, range_m, el = self.efficiencies(geometry, t_s, err_urad)
        src_k = np.clip(np.searchsorted(source_t_s, t_s, side="right") - 1, 0, max(len(source_t_s) - 1, 0))
        rate = np.where(emitting[src_k], pair_rate_hz[src_k], 0.0) if len(source_t_s) else np.zeros(n)
        phase = phase_rad[src_k] if len(source_t_s) else np.zeros(n)
        truth = ChannelTruth()
        ea, eb = eta
        lam = np.stack([rate * ea * eb, rate * ea * (1 - eb), rate * eb * (1 - ea)]) * dt_s
        counts = rng.poisson(lam)
        events = {0: [], 1: []}  # station -> list of (t_emit_s, channel) arrays

        # pairs detected at both stations
        k = np.repeat(np.arange(n), counts[0])
        te = (k + rng.random(len(k))) * dt_s
        sa, sb, pa, pb, err, n_eve = self._pair_outcomes(phase[k])
        events[0].append((te, 2 * sa + pa))
        events[1].append((te, 2 * sb + pb))
        truth.pairs_both = len(k)
        truth.eve_intercepted = n_eve
        if self.mode == "key":
            same = sa == sb
            truth.sifted_pairs = int(same.sum())
            truth.sifted_pair_errors = int(err[same].sum())
        # photons whose partner was lost
        for st, c in ((0, counts[1]), (1, counts[2])):
            k = np.repeat(np.arange(n), c)
            events[st].append(((k + rng.random(len(k))) * dt_s, rng.integers(0, 4, len(k))))

        out = {}
        singles = np.zeros((2, n))
        for b, (name, opt) in enumerate(self.stations):
            te, ch = (np.concatenate(x) for x in zip(*events[b]))
            arrive = te + np.interp(te, t_s, range_m[b]) / C_M_S
            arrive = arrive + opt.photon_delay_ns * 1e-9 + rng.normal(0.0, opt.jitter_fwhm_ps * 1e-12 / 2.3548, len(te))
            # background over the span the telescope tracks the satellite
            span = np.nonzero(el[b] >= self.el_mask_deg)[0]
            if len(span):
                t_lo, t_hi = span[0] * dt_s, (span[-1] + 1) * dt_s
                nb = rng.poisson(opt.background_hz * (t_hi - t_lo))
                bg = t_lo + rng.random(nb) * (t_hi - t_lo) + range_m[b][span[0]] / C_M_S
                arrive = np.concatenate([arrive, bg])
                ch = np.concatenate([ch, rng.integers(0, 4, nb)])
                inside = (t_s >= t_lo) & (t_s < t_hi)
                singles[b] = rate * eta[b] + np.where(inside, opt.background_hz, 0.0)
            ts, cs = self._sync(t0_unix, t_s, dt_s, range_m[b], err_urad[b], el[b], source_t_s, sync_on, opt)
            arrive = np.concatenate([arrive, ts])
            ch = np.concatenate([ch, cs])
            t_station = arrive + opt.clock_offset_s + opt.clock_drift * arrive  # run time on the station clock
            order = np.argsort(t_station, kind="stable")
            out[name] = (t_station[order], ch[order].astype(np.uint8))
        # accidentals expected in the ground's window (coincidence of emission times), same setting
        truth.expected_accidentals_sifted = float(0.5 * 2 * self.half_window_s * np.sum(singles[0] * singles[1]) * dt_s)
        truth.series = self._series(t_s, eta, rate, el, range_m, singles)
        return out, truth

    def _pair_outcomes(self, phase):
        """Settings, ports and sifted-bit error flags of pairs detected at both stations."""
        rng = self.rng
        m = len(phase)
        sa = rng.integers(0, 2, m)
        sb = rng.integers(0, 2, m)
        alpha = self.angles_rad[0][sa]
        beta = self.angles_rad[1][sb]
        eve = rng.random(m) < self.eve_fraction
        from sim.spdc import outcome_probabilities

        u = rng.random(m)
        # without Eve: the joint outcome of A and B
        p = outcome_probabilities(alpha, beta, self.visibility, phase).reshape(m, 4)
        idx = (u[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 3)
        pa, pb = idx // 2, idx % 2
        if eve.any():
            e = np.nonzero(eve)[0]
            theta = rng.integers(0, 2, len(e)) * (math.pi / 4)  # Eve's basis: 0 or 45 deg
            q = outcome_probabilities(alpha[e], theta, self.visibility, phase[e]).reshape(len(e), 4)
            j = (u[e, None] > np.cumsum(q, axis=1)).sum(axis=1).clip(0, 3)
            pa[e] = j // 2
            pol = theta + (j % 2) * (math.pi / 2)  # the photon Eve resends
            pb[e] = (rng.random(len(e)) >= np.cos(beta[e] - pol) ** 2).astype(pb.dtype)
        # key bits: Z anticorrelated (B flips), X correlated
        err = np.where(sa == 0, pa == pb, pa != pb)
        return sa, sb, pa, pb, err, int(eve.sum())

    def _sync(self, t0_unix, t_s, dt_s, range_m, err_urad, el, source_t_s, sync_on, opt):
        """Sync pulses received at a station: (arrival run time, channel 4)."""
        if not len(source_t_s) or not np.any(sync_on):
            return np.zeros(0), np.zeros(0, np.int64)
        period = self.sync_period_s
        t_end = t_s[-1] + dt_s
        n0 = math.ceil(t0_unix / period)
        n1 = math.floor((t0_unix + t_end) / period)
        period_ps = int(round(period * 1e12))
        first_ps = n0 * period_ps - int(round(t0_unix * 1e12))  # exact: the float products would be off by ~0.1 us
        te = (np.arange(n1 - n0 + 1) * period_ps + first_ps) * 1e-12  # run time of each pulse's emission
        k_src = np.clip(np.searchsorted(source_t_s, te, side="right") - 1, 0, len(source_t_s) - 1)
        k_tick = np.clip((te / dt_s).astype(np.int64), 0, len(t_s) - 1)
        theta0 = 0.5 * self.link.divergence_urad * SYNC_WIDE
        p = (opt.sync_detect_probability * np.exp(-2.0 * err_urad[k_tick] ** 2 / theta0 ** 2)
             * (el[k_tick] >= self.el_mask_deg) * sync_on[k_src])
        keep = self.rng.random(len(te)) < p
        te = te[keep]
        arrive = te + np.interp(te, t_s, range_m) / C_M_S + opt.sync_delay_ns * 1e-9
        arrive = arrive + self.rng.normal(0.0, opt.sync_jitter_ps * 1e-12, len(te))
        return arrive, np.full(len(te), 4, np.int64)

    def _series(self, t_s, eta, rate, el, range_m, singles):
        """Per-second means for the plots and the summary's link section."""
        sec = np.floor(t_s).astype(np.int64)
        nsec = int(sec[-1]) + 1 if len(sec) else 0
        cnt = np.maximum(np.bincount(sec, minlength=nsec), 1)

        def mean(x):
            return np.bincount(sec, weights=x, minlength=nsec) / cnt

        out = {"t_s": np.arange(nsec, dtype=np.float64), "pair_rate_hz": mean(rate),
               "expected_coincidence_hz": mean(rate * eta[0] * eta[1])}
        for b in range(len(self.stations)):
            out[f"eta{b}"] = mean(eta[b])
            out[f"el{b}_deg"] = mean(el[b])
            out[f"range{b}_km"] = mean(range_m[b]) / 1000.0
            out[f"singles{b}_hz"] = mean(singles[b])
        return out
