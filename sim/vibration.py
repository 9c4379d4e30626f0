"""Line-of-sight micro-vibration of the quantum beams, with the wheel tachometers.

Model, per beam and per axis (x, y) of the line of sight, in nrad::

    d(t) = sum_w sum_h  A[b,a,w,h] sqrt(2) sin(2 pi h theta_w(t) + phi[b,a,w,h])   reaction wheels
         + C sqrt(2) sin(2 pi f_c t + phi_c[b,a])                                 cryocooler tone
         + n(t)                                                                   broadband

``theta_w(t)`` is wheel ``w``'s rotation phase in revolutions.  Every harmonic
``h`` of a wheel is locked to ``h * theta_w``, so a reference built from the
wheel's tachometer (what ``hal.interface.Tachometer`` reports: frequency in mHz,
phase in 1/65536 revolution) can cancel it; that is the premise of the
feed-forward canceller (shared/REFERENCES.md, "Pointing and micro-vibration":
a wheel's disturbance sits at its spin rate and harmonics).  The cryocooler
tone has no tachometer, and the broadband part has no reference at all: after a
perfect wheel canceller sqrt(2^2 + 4^2) = 4.47 urad rms per axis remains for the
feedback loop.

Wheel speeds drift slowly: ``f_w(t) = f0_w (1 + sum_k a_k sin(2 pi t / T_k + psi_k))``
with ``sum_k |a_k| = speed_variation_frac`` (so ``|f_w / f0_w - 1|`` never exceeds
it), the periods ``T_k`` drawn in ``speed_period_s`` (minutes) and phases
random.  The phase is the exact integral of that frequency, evaluated in closed
form at each sample's index, so blocks join without a seam and nothing drifts.

The two beams sit on one platform: they share the wheels (same speeds and
rotation phases) but each beam/axis has its own seeded coupling gain (drawn in
``1 +/- coupling_spread`` around the nominal wheel/harmonic split) and phase;
the gains are then normalised so that every beam/axis carries exactly
``wheels_urad_rms`` of wheel disturbance.

The broadband part is white noise through a second-order low-pass
``H(s) = w_n^2 / (s^2 + 2 zeta w_n s + w_n^2)``, discretised exactly (the state
transition is a matrix exponential, the per-sample noise covariance is
``P - Phi P Phi^T`` with ``P`` the stationary covariance), started from its
stationary distribution, so the rms holds from the first sample and does not
depend on the sample period.  The recursion is evaluated as a blocked linear
scan (cumulative sums inside chunks, one small sequential loop across chunks).
A 10,000-sample block of two beams takes about 6-7 ms in all (broadband about
2 ms, wheel phases 1.3 ms, harmonics 1.2 ms), 5 ms for one beam.

Default profile (``VibrationProfile()``), per beam and per axis:

=====================  ===================  =====================================================
name                   value                source
=====================  ===================  =====================================================
wheel_hz               17.5, 22.0, 27.5 Hz  pointing issue's default: three wheels with
                                            fundamentals in 15-30 Hz (1050-1650 rpm); the values
                                            are assumed.  REFERENCES: Micius' vibration energy is
                                            mostly below 30 Hz
wheel_share            1, 1, 1              assumed: the three wheels contribute equal rms
harmonic_ratio         1, 0.5, 0.25         assumed: amplitude of the 1st, 2nd, 3rd harmonic of
                                            a wheel (imbalance dominates the fundamental)
wheels_urad_rms        8.0 urad             pointing issue's default (all wheel tones together)
coupling_spread        0.5                  assumed: per beam/axis coupling gain drawn uniformly
                                            in [0.5, 1.5] of nominal, then normalised
speed_variation_frac   0.03                 assumed: bound on |f/f0 - 1| (attitude control and
                                            momentum management move wheel speeds slowly)
speed_terms            2                    assumed: slow sinusoids per wheel speed
speed_period_s         60 .. 600 s          assumed: "over minutes"
cryo_hz                47.3 Hz              assumed: a cryocooler drive frequency (40-60 Hz class),
                                            not reported by any tachometer
cryo_urad_rms          2.0 urad             pointing issue's default
broadband_urad_rms     4.0 urad             pointing issue's default
broadband_corner_hz    5.0 Hz               pointing issue's default
broadband_zeta         0.7071               assumed: Butterworth second-order low-pass
=====================  ===================  =====================================================

Stated total: sqrt(8^2 + 2^2 + 4^2) = sqrt(84) = 9.17 urad rms per axis, against
Micius' 9.3 urad before suppression (REFERENCES: "Angular micro-vibration of the
Micius satellite ...", 2021; 0.47 urad after suppression).  Share of the
variance below 30 Hz by construction: the wheel fundamentals (1 / 1.3125 of
the wheel power, 48.8 urad^2 before the per-axis coupling draw) plus nearly all
of the broadband (16 urad^2): about 77 % of 84 urad^2; the 2nd/3rd wheel
harmonics (35-85 Hz) and the 47.3 Hz cryocooler tone lie above.  Measured on 60 s
at 1 kHz over 20 seeds: 62-88 % per axis, mean 77 % (it moves with the coupling
draw); total 9.08-9.30 urad rms per axis.

Wheel amplitudes are held constant while the speed drifts (the imbalance force
grows with speed squared, i.e. +/- 6 % for +/- 3 % speed: neglected, assumed).
"""

from dataclasses import dataclass, fields, replace

import numpy as np

WHEELS = 3
PHASE_Q16 = 65536  # tachometer phase counts per revolution (hal.interface)


def expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential of a small square matrix (scaling and squaring of a Taylor series).

    Scaled so that the scaled matrix has norm <= 0.5 and summed to 20 terms
    (truncation error below 1e-25 relative), then squared back.  Meant for the
    2x2 to 4x4 plant matrices of the emulator, computed once per model.
    """
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0]
    norm = float(np.max(np.sum(np.abs(a), axis=1))) if a.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    b = a / (2.0 ** s)
    term = np.eye(n)
    out = np.eye(n)
    for k in range(1, 21):
        term = term @ b / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


@dataclass(frozen=True)
class VibrationProfile:
    """Parameters of the micro-vibration (see the module docstring for their sources)."""

    wheel_hz: tuple = (17.5, 22.0, 27.5)
    wheel_share: tuple = (1.0, 1.0, 1.0)
    harmonic_ratio: tuple = (1.0, 0.5, 0.25)
    wheels_urad_rms: float = 8.0
    coupling_spread: float = 0.5
    speed_variation_frac: float = 0.03
    speed_terms: int = 2
    speed_period_s: tuple = (60.0, 600.0)
    cryo_hz: float = 47.3
    cryo_urad_rms: float = 2.0
    broadband_urad_rms: float = 4.0
    broadband_corner_hz: float = 5.0
    broadband_zeta: float = 0.7071

    @property
    def total_urad_rms(self) -> float:
        """The stated per-axis total: the three parts add in power."""
        return float(np.sqrt(self.wheels_urad_rms ** 2 + self.cryo_urad_rms ** 2 + self.broadband_urad_rms ** 2))

    @property
    def unreferenced_urad_rms(self) -> float:
        """What no tachometer can cancel: cryocooler and broadband together."""
        return float(np.sqrt(self.cryo_urad_rms ** 2 + self.broadband_urad_rms ** 2))


DEFAULT_PROFILE = VibrationProfile()


def _as_profile(profile) -> VibrationProfile:
    if profile is None:
        return DEFAULT_PROFILE
    if isinstance(profile, VibrationProfile):
        return profile
    if isinstance(profile, dict):
        known = {f.name for f in fields(VibrationProfile)}
        bad = set(profile) - known
        if bad:
            raise ValueError(f"unknown vibration profile fields: {sorted(bad)}")
        return replace(DEFAULT_PROFILE, **profile)
    raise TypeError("profile must be None, a VibrationProfile or a dict of overrides")


class _LowPassNoise:
    """Unit-variance white noise through w_n^2 / (s^2 + 2 zeta w_n s + w_n^2), exact in discrete time.

    State per channel: x = (y, y_dot / w_n), whose stationary covariance is the
    identity for any zeta, so ``Q = I - Phi Phi^T`` is the exact per-sample
    process noise: ``x[k+1] = Phi x[k] + Q^(1/2) e[k]``, ``e`` unit normal, and
    sample ``k`` of the output is ``y`` of ``x[k+1]``.  The recursion runs as a
    blocked scan: inside a chunk of ``L`` samples starting from state ``s``,
    ``x[m+1] = Phi^(m+1) (s + sum_{j<=m} Phi^-(j+1) Q^(1/2) e[j])`` (cumulative
    sums), and only the chunk start states are chained sequentially.  ``L`` keeps
    ``Phi^-L`` below 1e4 in gain, so rounding stays near 1e-12 relative.  Draws
    are taken sample-major, so the output does not depend on how the record is
    cut into blocks.
    """

    def __init__(self, rng: np.random.Generator, channels: int, dt_s: float, corner_hz: float, zeta: float):
        if corner_hz <= 0 or zeta <= 0:
            raise ValueError("broadband corner and damping must be > 0")
        self.rng = rng
        self.channels = channels
        wn = 2 * np.pi * corner_hz
        a = wn * np.array([[0.0, 1.0], [-1.0, -2.0 * zeta]])
        self.phi = expm(a * dt_s)
        q = np.eye(2) - self.phi @ self.phi.T
        q = 0.5 * (q + q.T)
        ev, vec = np.linalg.eigh(q)
        self.q_sqrt = vec * np.sqrt(np.clip(ev, 0.0, None))  # q = q_sqrt q_sqrt^T
        decay = -np.log(np.min(np.abs(np.linalg.eigvals(self.phi))))
        self.chunk = L = int(np.clip(np.log(1e4) / max(decay, 1e-12), 1, 1024))
        pw = np.empty((L + 1, 2, 2))  # Phi^m, m = 0..L
        g = np.empty((L, 2, 2))  # Phi^-(j+1) Q^(1/2), j = 0..L-1
        pw[0] = np.eye(2)
        inv = np.linalg.inv(self.phi)
        acc = np.eye(2)
        for m in range(1, L + 1):
            pw[m] = pw[m - 1] @ self.phi
            acc = acc @ inv
            g[m - 1] = acc @ self.q_sqrt
        self._pw = pw[1:]  # Phi^(m+1), m = 0..L-1
        self._g = g
        self.state = rng.standard_normal((channels, 2))  # stationary start

    def next(self, n: int) -> np.ndarray:
        """The next ``n`` samples, shape (channels, n), unit variance."""
        c, L = self.channels, self.chunk
        nch = -(-n // L)
        flat = np.zeros((2, c, nch * L))
        flat[:, :, :n] = self.rng.standard_normal((n, c, 2)).transpose(2, 1, 0)
        e = flat.reshape(2, c, nch, L)
        g, pw = self._g, self._pw
        cs0 = np.cumsum(g[:, 0, 0] * e[0] + g[:, 0, 1] * e[1], axis=-1)  # (c, nch, L)
        cs1 = np.cumsum(g[:, 1, 0] * e[0] + g[:, 1, 1] * e[1], axis=-1)
        # chunk start states, chained sequentially (nch is a few tens)
        s0 = np.empty((c, nch + 1))
        s1 = np.empty((c, nch + 1))
        s0[:, 0], s1[:, 0] = self.state[:, 0], self.state[:, 1]
        pl = pw[L - 1]
        e0 = pl[0, 0] * cs0[:, :, L - 1] + pl[0, 1] * cs1[:, :, L - 1]  # zero-state chunk-end states
        e1 = pl[1, 0] * cs0[:, :, L - 1] + pl[1, 1] * cs1[:, :, L - 1]
        for k in range(nch):
            a, b = s0[:, k], s1[:, k]
            s0[:, k + 1] = pl[0, 0] * a + pl[0, 1] * b + e0[:, k]
            s1[:, k + 1] = pl[1, 0] * a + pl[1, 1] * b + e1[:, k]
        y = (pw[:, 0, 0] * (s0[:, :nch, None] + cs0) + pw[:, 0, 1] * (s1[:, :nch, None] + cs1)).reshape(c, -1)
        # the state after the last real sample (index n - 1: chunk k, offset m)
        k, m = divmod(n - 1, L)
        p = pw[m]
        a = s0[:, k] + cs0[:, k, m]
        b = s1[:, k] + cs1[:, k, m]
        self.state = np.stack([p[0, 0] * a + p[0, 1] * b, p[1, 0] * a + p[1, 1] * b], axis=1)
        return y[:, :n].copy()


class MicroVibration:
    """Line-of-sight disturbance of ``beams`` beams (x and y each) plus the wheel tachometers.

    ``rng``: numpy Generator (all draws, at construction and per block);
    ``dt_s``: sample period; ``block``: samples per ``next_block()``;
    ``profile``: ``VibrationProfile``, a dict of overrides of the default, or None.
    The sample period must resolve the highest tone (3rd harmonic of the fastest
    wheel, up to 85 Hz by default): ``dt_s`` <= 5 ms; coarser sampling aliases
    the tones (not checked).
    """

    def __init__(self, rng: np.random.Generator, dt_s: float, beams: int = 2, block: int = 10000, profile=None):
        if dt_s <= 0 or block <= 0 or beams <= 0:
            raise ValueError("dt_s, block and beams must be > 0")
        p = _as_profile(profile)
        if len(p.wheel_hz) != WHEELS or len(p.wheel_share) != WHEELS:
            raise ValueError("the profile needs three wheels")
        if not 0 <= p.speed_variation_frac < 1 or not 0 <= p.coupling_spread < 1:
            raise ValueError("speed_variation_frac and coupling_spread must be in [0, 1)")
        self.profile = p
        self.rng = rng
        self.dt = float(dt_s)
        self.beams = beams
        self.block = block
        self.n0 = 0  # index of the next sample
        ch = beams * 2  # channel c = 2 * beam + axis (0: x, 1: y)
        H = len(p.harmonic_ratio)
        self.harmonics = np.arange(1, H + 1)
        self.f0 = np.asarray(p.wheel_hz, dtype=np.float64)
        # wheel speed variation: f_w(t) = f0_w (1 + sum_k a[w,k] sin(2 pi t / T[w,k] + psi[w,k]))
        K = max(int(p.speed_terms), 0)
        u = rng.uniform(0.5, 1.0, (WHEELS, K))
        self.speed_a = p.speed_variation_frac * u / np.maximum(u.sum(axis=1, keepdims=True), 1e-300)
        self.speed_T = rng.uniform(p.speed_period_s[0], p.speed_period_s[1], (WHEELS, K))
        self.speed_psi = rng.uniform(0, 2 * np.pi, (WHEELS, K))
        self.theta0 = rng.uniform(0.0, 1.0, WHEELS)  # initial rotation phase, rev
        # couplings: rms amplitude per (channel, wheel, harmonic), normalised per channel
        nominal = np.outer(np.asarray(p.wheel_share, float), np.asarray(p.harmonic_ratio, float))
        gain = rng.uniform(1 - p.coupling_spread, 1 + p.coupling_spread, (ch, WHEELS, H))
        amp = nominal[None] * gain
        amp *= p.wheels_urad_rms / np.sqrt(np.sum(amp ** 2, axis=(1, 2), keepdims=True))
        self.wheel_amp_urad_rms = amp  # (channels, wheels, harmonics)
        self.wheel_phase = rng.uniform(0, 2 * np.pi, (ch, WHEELS, H))
        self.cryo_phase = rng.uniform(0, 2 * np.pi, ch)
        # a sqrt(2) sin(x + phi) = (a sqrt(2) cos phi) sin x + (a sqrt(2) sin phi) cos x
        pk = 1000.0 * np.sqrt(2.0) * amp  # nrad peak
        coef = np.empty((ch, WHEELS, H, 2))
        coef[..., 0] = pk * np.cos(self.wheel_phase)
        coef[..., 1] = pk * np.sin(self.wheel_phase)
        self._wheel_coef = coef.reshape(ch, WHEELS * H * 2)
        cpk = 1000.0 * np.sqrt(2.0) * p.cryo_urad_rms
        self._cryo_coef = np.stack([cpk * np.cos(self.cryo_phase), cpk * np.sin(self.cryo_phase)], axis=1)
        self._noise = _LowPassNoise(rng, ch, self.dt, p.broadband_corner_hz, p.broadband_zeta)
        self._noise_scale = 1000.0 * p.broadband_urad_rms
        self._tab: dict = {}

    # -- wheels ---------------------------------------------------------
    def _tables(self, n: int) -> dict:
        """cos/sin of the slow speed terms' and the cryocooler's phase advance over m = 0..n-1 samples."""
        tab = self._tab.get(n)
        if tab is None:
            m = np.arange(n, dtype=np.float64)
            adv = (2 * np.pi * self.dt / self.speed_T)[..., None] * m  # (3, K, n)
            cadv = 2 * np.pi * np.mod(np.mod(self.profile.cryo_hz * self.dt, 1.0) * m, 1.0)
            tab = {"c": np.cos(adv), "s": np.sin(adv), "cc": np.cos(cadv), "cs": np.sin(cadv)}
            self._tab = {n: tab}  # one block length at a time
        return tab

    def wheel_state(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """True wheel rotation phases in revolutions, reduced to [0, 1), and frequencies in Hz,
        each (3, n), for samples ``start .. start + n - 1`` (sample ``i`` is at ``i * dt_s``).

        f_w(t) = f0_w (1 + sum_k a_k sin(2 pi t / T_k + psi_k)) and theta_w(t) its exact
        integral; the slow terms are advanced by rotation tables (angle addition), which is
        exact to rounding, so the cost is a few multiply-adds per sample.
        """
        tab = self._tables(n)
        idx = start + np.arange(n, dtype=np.int64)
        t0 = start * self.dt
        theta = np.empty((WHEELS, n))
        freq = np.empty((WHEELS, n))
        for w in range(WHEELS):
            f0 = self.f0[w]
            # f0 * t in revolutions, reduced early: (f0 dt mod 1) * idx mod 1 loses nothing for idx < 2**40
            th = np.mod(np.mod(f0 * self.dt, 1.0) * idx, 1.0) + self.theta0[w]
            fr = np.ones(n)
            for k in range(self.speed_a.shape[1]):
                a_k, T_k, psi = self.speed_a[w, k], self.speed_T[w, k], self.speed_psi[w, k]
                arg0 = 2 * np.pi * np.mod(t0 / T_k, 1.0) + psi
                s0, c0 = np.sin(arg0), np.cos(arg0)
                ck, sk = tab["c"][w, k], tab["s"][w, k]
                fr += a_k * (s0 * ck + c0 * sk)  # f / f0 = 1 + sum a sin(arg)
                cos_arg = c0 * ck - s0 * sk
                th += (f0 * a_k * T_k / (2 * np.pi)) * (np.cos(psi) - cos_arg)  # its integral
            theta[w] = np.mod(th, 1.0)
            freq[w] = f0 * fr
        return theta, freq

    def speed_step(self, wheel: int, fraction: float) -> None:
        """Fault injection: wheel ``wheel``'s mean speed steps by ``fraction`` (0.1: 10 % faster) from the
        next block on, its rotation phase continuous (a momentum-management glitch or a wheel anomaly)."""
        if not 0 <= wheel < WHEELS or not -0.9 < fraction < 10:
            raise ValueError(f"wheel {wheel} (0..{WHEELS - 1}) or speed step {fraction} out of range")
        before = self.wheel_state(self.n0, 1)[0][wheel, 0]
        self.f0 = self.f0.copy()
        self.f0[wheel] *= 1.0 + fraction
        after = self.wheel_state(self.n0, 1)[0][wheel, 0]
        self.theta0 = self.theta0.copy()
        self.theta0[wheel] += before - after

    # -- blocks ---------------------------------------------------------
    def next_block(self, components: bool = False) -> dict:
        """The next ``block`` samples.

        Returns a dict: ``x_nrad``, ``y_nrad`` float64 (beams, block);
        ``wheel_freq_mhz`` int64 (3, block) and ``wheel_phase_q16`` int64 (3, block)
        (rotation phase in 1/65536 revolution, wrapping), sample-aligned with the
        disturbance; ``t_s`` (block,) the sample times.  With ``components``:
        also ``components`` = {"wheels", "cryocooler", "broadband"}, each a dict
        with ``x_nrad`` and ``y_nrad`` (beams, block).
        """
        n = self.block
        start = self.n0
        self.n0 += n
        theta, freq = self.wheel_state(start, n)
        H = len(self.harmonics)
        basis = np.empty((WHEELS, H, 2, n))
        s1 = np.sin(2 * np.pi * theta)
        c1 = np.cos(2 * np.pi * theta)
        basis[:, 0, 0], basis[:, 0, 1] = s1, c1
        for h in range(1, H):  # sin/cos((h+1) x) by angle addition from h x and x
            sh, ch = basis[:, h - 1, 0], basis[:, h - 1, 1]
            basis[:, h, 0] = sh * c1 + ch * s1
            basis[:, h, 1] = ch * c1 - sh * s1
        # (channels, n); einsum's own loop, not BLAS, whose threads cost more than this small product
        wheels = np.einsum("cr,rn->cn", self._wheel_coef, basis.reshape(-1, n))
        tab = self._tables(n)
        ca = 2 * np.pi * np.mod(np.mod(self.profile.cryo_hz * self.dt, 1.0) * start, 1.0)
        sc0, cc0 = np.sin(ca), np.cos(ca)
        cc = self._cryo_coef
        cryo = (cc[:, :1] * (sc0 * tab["cc"] + cc0 * tab["cs"])  # sin(2 pi f_c t)
                + cc[:, 1:] * (cc0 * tab["cc"] - sc0 * tab["cs"]))  # cos(2 pi f_c t)
        broad = self._noise_scale * self._noise.next(n)
        total = wheels + cryo + broad
        b = self.beams
        out = {
            "t_s": (start + np.arange(n)) * self.dt,
            "x_nrad": total[0::2].reshape(b, n),
            "y_nrad": total[1::2].reshape(b, n),
            "wheel_freq_mhz": np.round(freq * 1000.0).astype(np.int64),
            "wheel_phase_q16": np.round(theta * PHASE_Q16).astype(np.int64) & (PHASE_Q16 - 1),
        }
        if components:
            out["components"] = {
                name: {"x_nrad": part[0::2].copy(), "y_nrad": part[1::2].copy()}
                for name, part in (("wheels", wheels), ("cryocooler", cryo), ("broadband", broad))
            }
        return out

