"""Entangled-source quality from on-board counts (MicroPython subset, 1 Hz).

Both analyser arms measure in the same basis at a time (H/V or D/A, switched
by the liquid-crystal rotators).  Over an integration period of ``T`` seconds
the counters give the four singles ``S_a0, S_a1, S_b0, S_b1`` and the four
pair coincidences ``C_ij`` within a window of +/- ``tau``.  Then

- accidentals         ``A_ij = 2 tau S_ai S_bj / T``  (uncorrelated streams)
- corrected           ``C'_ij = C_ij - A_ij``
- visibility          ``V = |C'_00 + C'_11 - C'_01 - C'_10| / (C'_00 + C'_11 + C'_01 + C'_10)``
- pair rate           ``R = sum C'_ij / T``
- heralding           ``eta = sum C'_ij / sqrt(S_a S_b)`` (symmetrised, S_a = S_a0 + S_a1)
- CHSH implied        ``S = sqrt(2) (V_HV + V_DA)`` for a maximally entangled state whose
                      only imperfection is white noise (Bell state (|HV> + |VH>)/sqrt(2):
                      anti-correlated in H/V and correlated in D/A, hence the absolute value).

This runs once a second, where floats are allowed; rp2's single precision is
ample for ratios of counts.  A basis with too few corrected coincidences
(``min_coincidences``) reports no visibility (-1) rather than noise.
"""

from bus.compat import const

BASIS_HV = const(0)
BASIS_DA = const(1)


class QualityMonitor:
    def __init__(self, window_ns=1, min_coincidences=50):
        self.window_ns = window_ns  # coincidence half-window tau (ns)
        self.min_coincidences = min_coincidences
        self.visibility = [-1.0, -1.0]  # per basis; -1: not measured yet
        self.correlation = [0.0, 0.0]  # per basis, signed (C'00 + C'11 - C'01 - C'10) / sum C'
        self.pair_rate_hz = 0.0
        self.accidental_rate_hz = 0.0
        self.heralding = 0.0
        self.singles_hz = [0.0, 0.0, 0.0, 0.0]  # a0, a1, b0, b1

    def idle(self):
        """No light to measure (pump off): rates to zero; the last visibilities stay, as measured."""
        self.pair_rate_hz = 0.0
        self.accidental_rate_hz = 0.0
        self.heralding = 0.0
        for n in range(4):
            self.singles_hz[n] = 0.0

    @property
    def visibility_hv(self):
        return self.visibility[BASIS_HV]

    @property
    def visibility_da(self):
        return self.visibility[BASIS_DA]

    @property
    def chsh_s(self):
        """S implied by both bases' visibilities (0 until both are measured)."""
        v_hv, v_da = self.visibility
        if v_hv < 0 or v_da < 0:
            return 0.0
        return 1.4142135623730951 * (v_hv + v_da)

    def update(self, basis, period_s, singles, coinc):
        """One integration period: ``singles`` (a0, a1, b0, b1) and ``coinc`` (a0b0, a0b1, a1b0, a1b1)."""
        if period_s <= 0:
            raise ValueError("integration period must be > 0 s")
        tau_s = self.window_ns * 1e-9
        sa = (singles[0], singles[1])
        sb = (singles[2], singles[3])
        corrected = [0.0, 0.0, 0.0, 0.0]
        acc_total = 0.0
        k = 0
        for i in range(2):
            for j in range(2):
                acc = 2.0 * tau_s * sa[i] * sb[j] / period_s
                acc_total += acc
                corrected[k] = coinc[k] - acc
                k += 1
        total = corrected[0] + corrected[1] + corrected[2] + corrected[3]
        for n in range(4):
            self.singles_hz[n] = singles[n] / period_s
        self.pair_rate_hz = total / period_s
        self.accidental_rate_hz = acc_total / period_s
        s_a = sa[0] + sa[1]
        s_b = sb[0] + sb[1]
        self.heralding = total / (s_a * s_b) ** 0.5 if s_a > 0 and s_b > 0 else 0.0
        if total >= self.min_coincidences:
            v = (corrected[0] + corrected[3] - corrected[1] - corrected[2]) / total
            self.correlation[basis] = v
            self.visibility[basis] = v if v >= 0 else -v
        return self.visibility[basis]
