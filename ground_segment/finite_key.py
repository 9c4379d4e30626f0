r"""Secret key length of entanglement-based BBM92 with finite statistics (failure probability 1e-10).

The bound
---------
Source: M. Tomamichel, C. C. W. Lim, N. Gisin & R. Renner, "Tight finite-key analysis for quantum
cryptography", Nat. Commun. 3, 634 (2012) (TLGR), whose key length is

    l <= n (q - h(Q_tol + mu)) - leak_EC - log2(2 / (eps_sec^2 eps_cor)),
    mu = sqrt((n + k)/(n k) * (k + 1)/k * ln(2/eps_sec)),

for n key bits measured in one basis, k test bits measured in the other with error rate Q_tol,
q = log2(1/c) = 1 for complementary qubit bases.  Its ingredients: the entropic uncertainty relation
bounds Eve's smooth min-entropy on the key by n(q - h(phase-error rate)); the phase-error rate of the
key bits is bounded by the bit error rate of the test bits plus mu, a random-sampling (Serfling) bound
that fails with probability exp(-2 mu^2 n k^2 / ((n + k)(k + 1))) = (eps_sec/2)^2; leak_EC bits of
error correction and log2(2/eps_cor) bits of verification are subtracted; the leftover hash lemma
costs 2 log2(1/eps_sec).

Generalised here, as Yin et al. (Nature 582, 501 (2020)) did for Micius, to a key taken from *both*
bases of a passive-basis BBM92 run, the error rate counted over ALL sifted bits by error correction
(no bits sacrificed for testing), separately in each basis:

    l = floor( n_Z (1 - h(phi_Z)) + n_X (1 - h(phi_X)) - leak_EC - log2(2 / (eps_sec^2 eps_cor)) ),
    clipped at 0,

- n_Z, n_X: sifted bits in the Z (H/V) and X (D/A) bases; e_Z = E_Z/n_Z, e_X = E_X/n_X the error
  rates error correction found in each.
- phi_Z: upper bound on the phase-error rate of the Z bits (the error rate they would show measured
  in X), from the X bits: the n_X X-measured pairs are a uniformly random subset of the n_Z + n_X
  sifted pairs (passive, basis-independent choice), so their error count samples without replacement
  the errors all pairs would show in X.  phi_X likewise from the Z bits.  Each bound may fail with
  probability delta = eps_sec^2 / 8: together (union bound) (eps_sec/2)^2, the failure probability
  TLGR's mu carries.  A bound of 1/2 or more contributes nothing (h = 1).
- The two sampling bounds (``method``):
  * "hypergeometric" (default): the exact tail.  With T errors among the N = n_key + n_test pairs,
    the test errors are hypergeometric H(N, T, n_test).  T_max is the largest T with
    P[H(N, T, n_test) <= E_test] > delta; then phase errors <= T_max - E_test except with probability
    <= delta (P[F_T(X) <= delta] <= delta for the CDF F_T of the true T, and F_T decreases with T).
    phi = (T_max - E_test)/n_key.  This is the sampling statement TLGR's proof uses, evaluated
    exactly instead of through Serfling's inequality, as advocated by Mannalath, Zapatero & Curty,
    "Sharp finite statistics for quantum key distribution" (arXiv:2410.04095).
  * "serfling": TLGR's own mu with delta: phi = e_test + sqrt((N/(n_key n_test)) ((n_test+1)/n_test)
    ln(1/delta)/2), i.e. their formula with ln(2/eps_sec) -> ln(2 sqrt(2)/eps_sec) for the two
    estimates.  Much looser at small n (zero key at the Micius figures).
- leak_EC: parity bits disclosed by error correction (ground_segment/cascade.py).
- log2(2/(eps_sec^2 eps_cor)) = 1 + log2(1/eps_cor) + 2 log2(1/eps_sec): the verification tag of
  log2(1/eps_cor) bits (ground_segment/privacy.py) plus its one-bit outcome, and the leftover hash
  lemma's price.
- eps_cor = 2^-tag_bits (Toeplitz verification tag), eps_sec = epsilon - eps_cor: the key is
  (eps_sec + eps_cor) = epsilon secure, epsilon = 1e-10 by default as in Yin et al. 2020.

Assumptions: qubit measurements in two mutually unbiased bases (q = 1), basis choice passive and
basis-independent detection (the sampling argument); the source is untrusted (entanglement-based:
any state Eve supplies is covered); errors counted by error correction are exact on the verified key.
The counts are plugged in after the fact (as Yin et al. and most experiments do) rather than fixing
a tolerated error rate before the run.  The authentication key is not subtracted here:
ground_segment/distill.py does that (the net key).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ground_segment.cascade import binary_entropy
from ground_segment.privacy import DEFAULT_TAG_BITS  # verification tag: eps_cor = 2^-40

__all__ = [
    "DEFAULT_EPSILON",
    "DEFAULT_TAG_BITS",
    "FiniteKeyResult",
    "asymptotic_bits",
    "finite_key_length",
    "phase_error_bound",
    "hypergeometric_log_cdf",
]

DEFAULT_EPSILON = 1e-10  # eps_sec + eps_cor, as Yin et al. 2020

METHODS = ("hypergeometric", "serfling")


def asymptotic_bits(n: float, qber: float, f: float) -> float:
    """n (1 - f h(Q) - h(Q)), clipped at 0: the asymptotic (infinite-key) BBM92 key from n sifted bits."""
    if n < 0 or f < 0:
        raise ValueError(f"asymptotic_bits: n and f must be >= 0, got n = {n}, f = {f}")
    h = binary_entropy(min(max(qber, 0.0), 0.5)) if qber <= 0.5 else 1.0
    return max(0.0, n * (1.0 - f * h - h))


def hypergeometric_log_cdf(x: int, population: int, successes: int, draws: int) -> float:
    """ln P[X <= x] for X ~ hypergeometric (population N, K successes, k draws without replacement).

    Exact up to float rounding: ln pmf(x) from lgamma, the lower terms by the ratio
    pmf(t-1)/pmf(t) = t (N - K - k + t) / ((K - t + 1)(k - t + 1)), summed in log space.
    """
    N, K, k = int(population), int(successes), int(draws)
    if not (0 <= K <= N and 0 <= k <= N):
        raise ValueError(f"hypergeometric_log_cdf: need 0 <= K, k <= N, got N={N}, K={K}, k={k}")
    lo, hi = max(0, k - (N - K)), min(k, K)
    if x < lo:
        return -math.inf
    if x >= hi:
        return 0.0

    def lnc(a: int, b: int) -> float:
        return math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)

    log_top = lnc(K, x) + lnc(N - K, k - x) - lnc(N, k)
    t = np.arange(x, lo, -1, dtype=np.float64)  # x, x-1, ..., lo+1
    log_ratio = np.log(t) + np.log(N - K - k + t) - np.log(K - t + 1) - np.log(k - t + 1)
    terms = log_top + np.concatenate(([0.0], np.cumsum(log_ratio)))
    peak = float(terms.max())
    return min(0.0, peak + math.log(float(np.sum(np.exp(terms - peak)))))


def phase_error_bound(n_key: int, n_test: int, errors_test: int, delta: float,
                      method: str = "hypergeometric") -> float:
    """Upper bound on the phase-error rate of n_key bits from errors_test errors in n_test other bits.

    Holds except with probability ``delta`` (random sampling without replacement; module docstring).
    Returns a rate in [0, 1] (0.5 or more means no secrecy can be claimed); 1.0 when n_test = 0.
    """
    if n_key < 0 or n_test < 0 or not 0 <= errors_test <= n_test:
        raise ValueError(f"phase_error_bound: bad counts n_key={n_key}, n_test={n_test}, errors={errors_test}")
    if not 0 < delta < 1:
        raise ValueError(f"phase_error_bound: delta must be in (0, 1), got {delta}")
    if n_key == 0:
        return 0.0
    if n_test == 0:
        return 1.0
    if method == "serfling":
        N = n_key + n_test
        mu = math.sqrt(N / (n_key * n_test) * (n_test + 1) / n_test * math.log(1.0 / delta) / 2.0)
        return min(1.0, errors_test / n_test + mu)
    if method != "hypergeometric":
        raise ValueError(f"phase_error_bound: method must be one of {METHODS}, got {method!r}")
    N = n_key + n_test
    log_delta = math.log(delta)

    def plausible(total: int) -> bool:  # P[test errors <= observed | total errors] > delta
        return hypergeometric_log_cdf(errors_test, N, total, n_test) > log_delta

    lo, hi = errors_test, errors_test + n_key  # plausible(lo) holds: the CDF is 1 there
    if plausible(hi):
        return 1.0
    while hi - lo > 1:  # invariant: plausible(lo), not plausible(hi)
        mid = (lo + hi) // 2
        if plausible(mid):
            lo = mid
        else:
            hi = mid
    return (lo - errors_test) / n_key


@dataclass(frozen=True)
class FiniteKeyResult:
    """The finite-key bound and each of its terms (bits unless stated)."""

    secret_bits: int  # floor of the bound, 0 when the bound is not positive
    bound_bits: float  # the bound before rounding and clipping (may be negative)
    n_z: int  # sifted bits, Z basis
    n_x: int  # sifted bits, X basis
    errors_z: int  # errors found in Z
    errors_x: int  # errors found in X
    phase_z: float  # upper bound on the Z bits' phase-error rate (from the X bits)
    phase_x: float  # upper bound on the X bits' phase-error rate (from the Z bits)
    entropy_bits: float  # n_Z (1 - h(phase_z)) + n_X (1 - h(phase_x))
    leak_ec_bits: float  # error-correction disclosure subtracted
    verification_bits: float  # log2(2/eps_cor): the tag and its outcome
    privacy_amplification_bits: float  # 2 log2(1/eps_sec): leftover hash lemma
    epsilon: float  # eps_sec + eps_cor
    eps_sec: float
    eps_cor: float
    delta: float  # failure probability allowed to each phase-error bound (eps_sec^2 / 8)
    method: str  # "hypergeometric" or "serfling"


def finite_key_length(n_z: int, n_x: int, errors_z: int, errors_x: int, leak_ec_bits: float,
                      epsilon: float = DEFAULT_EPSILON, tag_bits: int = DEFAULT_TAG_BITS,
                      method: str = "hypergeometric") -> FiniteKeyResult:
    """Secret bits extractable from n_Z + n_X verified sifted bits (module docstring for the formula).

    Returns ``secret_bits`` = 0 whenever the bound is zero or negative; never a negative value.
    """
    for name, v in (("n_z", n_z), ("n_x", n_x), ("errors_z", errors_z), ("errors_x", errors_x)):
        if int(v) != v or v < 0:
            raise ValueError(f"finite_key_length: {name} must be a non-negative integer, got {v}")
    if errors_z > n_z or errors_x > n_x:
        raise ValueError(f"finite_key_length: more errors than bits ({errors_z}/{n_z}, {errors_x}/{n_x})")
    if leak_ec_bits < 0:
        raise ValueError(f"finite_key_length: leak_ec_bits must be >= 0, got {leak_ec_bits}")
    eps_cor = 2.0 ** -int(tag_bits)
    eps_sec = float(epsilon) - eps_cor
    if not 0 < eps_sec < 1:
        raise ValueError(f"finite_key_length: epsilon {epsilon} must exceed eps_cor = 2^-{tag_bits}")
    delta = eps_sec**2 / 8.0
    n_z, n_x, errors_z, errors_x = int(n_z), int(n_x), int(errors_z), int(errors_x)
    phase_z = phase_error_bound(n_z, n_x, errors_x, delta, method)
    phase_x = phase_error_bound(n_x, n_z, errors_z, delta, method)
    entropy = n_z * (1.0 - binary_entropy(min(phase_z, 0.5))) + n_x * (1.0 - binary_entropy(min(phase_x, 0.5)))
    verification = 1.0 + tag_bits  # log2(2/eps_cor)
    pa = 2.0 * math.log2(1.0 / eps_sec)
    bound = entropy - leak_ec_bits - verification - pa
    secret = int(math.floor(bound)) if bound > 0 else 0
    return FiniteKeyResult(secret, bound, n_z, n_x, errors_z, errors_x, phase_z, phase_x, entropy,
                           float(leak_ec_bits), verification, pa, float(epsilon), eps_sec, eps_cor, delta, method)
