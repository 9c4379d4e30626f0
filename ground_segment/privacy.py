"""Key verification and privacy amplification: random Toeplitz hashing over GF(2).

Toeplitz hashing.  An m x n binary Toeplitz matrix is fixed by its first row and column, i.e. by
n + m - 1 seed bits s_0 .. s_{n+m-2}; here

    T[i, j] = s[i - j + n - 1]        (0 <= i < m, 0 <= j < n)

so that y = T x (mod 2) is the slice [n-1, n-1+m) of the linear convolution s * x:

    y_i = sum_j s[i - j + n - 1] x_j = (s * x)[i + n - 1]   (mod 2).

With a uniformly random seed the family {T} is universal_2: for x != x', Pr_s[T x = T x'] = 2^-m, since
T d is uniform on {0,1}^m for every d != 0 (Mansour, Nisan & Tiwari, STOC 1990; Krawczyk, CRYPTO '94).
That is what the leftover hash lemma needs for privacy amplification, and it gives the verification
hash its collision probability.

Computation: the integer convolution is done with a real FFT of length L >= n + m - 1 (the smallest
2^a 3^b 5^c; a cyclic convolution of that length has no wrap-around on the slice we keep, since its indices run
from n - 1 to n + m - 2 < L).  Every exact value is an integer in [0, min(n, m)], and the float64
result is rounded; ``toeplitz_hash`` checks that every value lies within 0.25 of an integer and raises
otherwise, so a rounding error can never pass silently (for n = 1e6 the observed deviation is below
1e-6).  Throughput is printed by ``python -m bench.privacy``.

Verification.  After error correction Alice picks a fresh random Toeplitz seed, sends it with her
tag T x_A (``tag_bits`` bits); Bob compares with T x_B.  If the keys differ the tags agree with
probability exactly 2^-tag_bits = eps_cor, whatever the keys, because the seed is chosen after the
keys are fixed.  The tag is public: it counts as leaked, and the finite-key bound's
log2(2/eps_cor) term (ground_segment/finite_key.py) is that tag plus one bit (the outcome).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "toeplitz_hash",
    "toeplitz_dense",
    "random_seed_bits",
    "verification_tag",
    "verify_keys",
    "VerificationResult",
    "DEFAULT_TAG_BITS",
]

DEFAULT_TAG_BITS = 40  # verification tag; eps_cor = 2^-40 = 9.1e-13, 1 % of a 1e-10 budget
_ROUNDING_MARGIN = 0.25  # largest accepted distance of an FFT result from an integer


def _as_bits(bits, name: str) -> np.ndarray:
    a = np.asarray(bits)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D bit array, got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{name}: bits must be 0 or 1")
    return a.astype(np.uint8, copy=False)


def _fft_size(minimum: int) -> int:
    """Smallest 2^a 3^b 5^c >= minimum (sizes the FFT handles fastest)."""
    best = 1 << max(0, int(minimum - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35
            while size < minimum:
                size *= 2
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


def random_seed_bits(rng: np.random.Generator, n: int, out_len: int) -> np.ndarray:
    """n + out_len - 1 uniformly random bits: the seed of an out_len x n Toeplitz matrix."""
    return rng.integers(0, 2, n + out_len - 1, dtype=np.uint8)


def toeplitz_dense(n: int, out_len: int, seed_bits) -> np.ndarray:
    """The out_len x n matrix T[i, j] = seed[i - j + n - 1] (uint8): the reference for small n."""
    s = _as_bits(seed_bits, "toeplitz_dense")
    if len(s) != n + out_len - 1:
        raise ValueError(f"toeplitz_dense: need {n + out_len - 1} seed bits, got {len(s)}")
    i = np.arange(out_len)[:, None]
    j = np.arange(n)[None, :]
    return s[i - j + n - 1]


def toeplitz_hash(bits, out_len: int, seed_bits) -> np.ndarray:
    """y = T x over GF(2) for the out_len x n Toeplitz matrix of ``seed_bits`` (n + out_len - 1 bits).

    ``bits``: uint8 0/1 array of length n.  Returns a uint8 0/1 array of length out_len.  Computed by
    FFT convolution with an exactness check (module docstring); equal bit for bit to
    ``toeplitz_dense(n, out_len, seed_bits) @ bits % 2``.
    """
    x = _as_bits(bits, "toeplitz_hash")
    s = _as_bits(seed_bits, "toeplitz_hash seed")
    n = len(x)
    if out_len < 0:
        raise ValueError(f"toeplitz_hash: out_len must be >= 0, got {out_len}")
    if len(s) != n + out_len - 1 and not (out_len == 0 or n == 0):
        raise ValueError(f"toeplitz_hash: need n + out_len - 1 = {n + out_len - 1} seed bits, got {len(s)}")
    if out_len == 0:
        return np.zeros(0, dtype=np.uint8)
    if n == 0:
        return np.zeros(out_len, dtype=np.uint8)
    size = _fft_size(n + out_len - 1)
    conv = np.fft.irfft(np.fft.rfft(s.astype(np.float64), size) * np.fft.rfft(x.astype(np.float64), size), size)
    window = conv[n - 1:n - 1 + out_len]
    rounded = np.rint(window)
    deviation = float(np.max(np.abs(window - rounded)))
    if deviation > _ROUNDING_MARGIN:
        raise ArithmeticError(f"toeplitz_hash: FFT rounding deviation {deviation:.3g} too large for n = {n}")
    return (rounded.astype(np.int64) & 1).astype(np.uint8)


def verification_tag(bits, seed_bits, tag_bits: int = DEFAULT_TAG_BITS) -> np.ndarray:
    """The ``tag_bits``-bit Toeplitz tag of a key (seed: len(bits) + tag_bits - 1 bits)."""
    return toeplitz_hash(bits, tag_bits, seed_bits)


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of the verification exchange."""

    ok: bool  # both tags equal
    tag_bits: int  # tag length: leaked; eps_cor = 2^-tag_bits
    seed_bits: int  # length of the public seed Alice sent
    message_sizes: list  # payload (bits) of each message of the exchange

    @property
    def eps_cor(self) -> float:
        """Probability that different keys pass: 2^-tag_bits."""
        return 2.0 ** -self.tag_bits


def verify_keys(alice_bits, bob_bits, rng: np.random.Generator, tag_bits: int = DEFAULT_TAG_BITS,
                header_bits: int = 32) -> VerificationResult:
    """Alice draws a seed with ``rng``, sends seed and tag; Bob compares with his own tag and answers.

    Messages: Alice -> Bob (header + seed + tag), Bob -> Alice (header + 1 bit: equal or not).
    """
    a = _as_bits(alice_bits, "verify_keys alice")
    b = _as_bits(bob_bits, "verify_keys bob")
    if a.shape != b.shape:
        raise ValueError(f"verify_keys: key lengths differ ({len(a)} and {len(b)})")
    seed = random_seed_bits(rng, len(a), tag_bits)
    tag_a = verification_tag(a, seed, tag_bits)  # Alice's side
    tag_b = verification_tag(b, seed, tag_bits)  # Bob's side, from the seed he received
    ok = bool(np.array_equal(tag_a, tag_b))
    sizes = [header_bits + len(seed) + tag_bits, header_bits + 1]
    return VerificationResult(ok, tag_bits, len(seed), sizes)
