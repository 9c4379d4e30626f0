"""Authentication of the stations' classical messages, and the key it consumes (Wegman-Carter).

Scheme (Wegman & Carter, JCSS 22, 265 (1981); the AXU + one-time-pad construction: Krawczyk,
CRYPTO '94, "LFSR-based hashing and authentication"):

- A message of L bits is authenticated with a tag of

      tau(L) = s + ceil(log2(ceil(L/s) + 1))   bits,                    (``tag_length``)

  s = ``security_bits`` (default 48).
- Polynomial hash over GF(2^tau): the message is cut into d = ceil(L/tau) blocks m_1..m_d of tau bits
  (the last zero-padded), followed by the block L (its length), and evaluated at the secret point k:

      h_k(m) = m_1 k^(d+1) + m_2 k^d + ... + m_d k^2 + L k.

  For m != m' and any c, h_k(m) - h_k(m') - c is a non-zero polynomial of degree <= d + 1 in k (the
  coefficient vectors differ; the length block separates different lengths), so
  P_k[h_k(m) + h_k(m') = c] <= (d + 1)/2^tau: the family is eps-almost-XOR-universal with
  eps = (d + 1) 2^-tau <= (ceil(L/s) + 1) 2^-tau <= 2^-s (as tau >= s, d <= ceil(L/s)).
- Tag = h_k(m) XOR r, with r a fresh one-time pad of tau bits per message: eps-almost strongly
  universal, so a forger succeeds with probability <= 2^-s per message.  The hash point k is reused
  for every message of the session with the same tau (key recycling is secure when the tags are
  one-time padded: Wegman & Carter 1981; Portmann, IEEE Trans. Inf. Theory 60, 4383 (2014)).

Key consumed, ``auth_cost_bits(sizes)`` (scheme "per_message", the default):

      sum over messages of tau(L_i)   (one-time pads)
    + sum over the distinct tau used of tau   (one hash point per field size, fresh each session)

so about s + log2(L/s) bits per message.  Forgery probability over the session <= M 2^-s for M
messages (M = 200: 7e-13 at s = 48).

Scheme "transcript" (delayed authentication): nothing is tagged while the protocol runs; at the end
each station sends one tag over the whole transcript (every message, both directions, in order) and
checks the other's, before any key is output.  Cost 3 tau(L_total) (two pads and one hash point).
Why it is enough for error correction and verification: Alice counts the parities she discloses
herself, so whatever Eve does to Bob's requests, the leak subtracted is what left Alice; a modified
message makes the two transcripts differ and the session is discarded (forgery probability 2^-s),
and a discarded key is never used.  What the scheme does not cover are messages acted on before the
end (the sifting's basis announcements, which must precede parameter estimation): those are
authenticated separately, outside this module.  Cascade needs many round trips (about 60 at
n = 4000): per message this costs far more key than the whole exchange yields at Micius scale;
docs/key_distillation.md gives the figures.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = [
    "DEFAULT_SECURITY_BITS",
    "SCHEMES",
    "tag_length",
    "auth_cost_bits",
    "forgery_probability",
    "irreducible_polynomial",
    "poly_hash",
    "wegman_carter_tag",
]

DEFAULT_SECURITY_BITS = 48  # s: forgery probability <= 2^-48 per message
SCHEMES = ("per_message", "transcript")


def tag_length(message_bits: int, security_bits: int = DEFAULT_SECURITY_BITS) -> int:
    """tau(L) = s + ceil(log2(ceil(L/s) + 1)): tag bits for an L-bit message at forgery probability 2^-s."""
    if message_bits < 0 or security_bits < 1:
        raise ValueError(f"tag_length: need L >= 0 and s >= 1, got L = {message_bits}, s = {security_bits}")
    s = int(security_bits)
    blocks = -(-int(message_bits) // s)
    return s + math.ceil(math.log2(blocks + 1))


def auth_cost_bits(messages, security_bits: int = DEFAULT_SECURITY_BITS, scheme: str = "per_message") -> int:
    """Key bits consumed authenticating messages of the given sizes (bits) (module docstring)."""
    sizes = [int(m) for m in messages]
    if any(m < 0 for m in sizes):
        raise ValueError("auth_cost_bits: message sizes must be >= 0")
    if scheme == "per_message":
        taus = [tag_length(m, security_bits) for m in sizes]
        return int(sum(taus) + sum(set(taus)))
    if scheme == "transcript":
        if not sizes:
            return 0
        return 3 * tag_length(sum(sizes), security_bits)
    raise ValueError(f"auth_cost_bits: scheme must be one of {SCHEMES}, got {scheme!r}")


def forgery_probability(messages, security_bits: int = DEFAULT_SECURITY_BITS, scheme: str = "per_message") -> float:
    """Union bound on the probability that any forged message is accepted in the session."""
    count = len(list(messages)) if scheme == "per_message" else 2
    return count * 2.0 ** -security_bits


# --- GF(2^tau) arithmetic on Python ints (bit i = coefficient of x^i) -------------------------------

def _clmul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    return r


def _polymod(a: int, f: int) -> int:
    df = f.bit_length() - 1
    while a.bit_length() - 1 >= df:
        a ^= f << (a.bit_length() - 1 - df)
    return a


def _polygcd(a: int, b: int) -> int:
    while b:
        a, b = b, _polymod(a, b)
    return a


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        if n % p == 0:
            out.append(p)
            while n % p == 0:
                n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def _is_irreducible(f: int) -> bool:
    """Rabin's test: f of degree t is irreducible over GF(2) iff x^(2^t) = x mod f and
    gcd(x^(2^(t/r)) - x, f) = 1 for every prime r dividing t."""
    t = f.bit_length() - 1
    powers = {}  # j -> x^(2^j) mod f
    x = 0b10
    cur = x
    for j in range(1, t + 1):
        cur = _polymod(_clmul(cur, cur), f)
        powers[j] = cur
    if powers[t] != _polymod(x, f):
        return False
    return all(_polygcd(powers[t // r] ^ x, f) == 1 for r in _prime_factors(t))


@lru_cache(maxsize=None)
def irreducible_polynomial(degree: int) -> int:
    """The first irreducible trinomial x^t + x^a + 1 (smallest a), else pentanomial, of degree t >= 2."""
    if degree < 2:
        raise ValueError(f"irreducible_polynomial: degree must be >= 2, got {degree}")
    top = (1 << degree) | 1
    for a in range(1, degree):
        f = top | (1 << a)
        if _is_irreducible(f):
            return f
    for a in range(3, degree):
        for b in range(2, a):
            for c in range(1, b):
                f = top | (1 << a) | (1 << b) | (1 << c)
                if _is_irreducible(f):
                    return f
    raise ArithmeticError(f"irreducible_polynomial: none of low weight found for degree {degree}")


def poly_hash(bits, hash_key: int, tau: int) -> int:
    """h_k(m) over GF(2^tau) (module docstring); ``bits``: 0/1 array, the first bit is the first sent."""
    m = np.asarray(bits, dtype=np.uint8)
    if m.ndim != 1:
        raise ValueError("poly_hash: message must be a 1-D bit array")
    if len(m) >= 1 << tau:
        raise ValueError(f"poly_hash: message of {len(m)} bits too long for tau = {tau}")
    if not 0 <= hash_key < 1 << tau:
        raise ValueError(f"poly_hash: hash key must have {tau} bits")
    f = irreducible_polynomial(tau)
    d = -(-len(m) // tau)
    padded = np.zeros(d * tau, dtype=np.uint64)
    padded[:len(m)] = m
    rows = padded.reshape(d, tau)  # block i, first bit most significant
    low = min(tau, 32)
    weights_lo = np.uint64(1) << np.arange(low - 1, -1, -1, dtype=np.uint64)
    weights_hi = np.uint64(1) << np.arange(tau - low - 1, -1, -1, dtype=np.uint64)
    lo_part = (rows[:, tau - low:] * weights_lo).sum(axis=1).tolist()
    hi_part = (rows[:, :tau - low] * weights_hi).sum(axis=1).tolist()
    acc = 0
    for hi, lo in zip(hi_part, lo_part):
        acc = _polymod(_clmul(acc ^ ((int(hi) << low) | int(lo)), hash_key), f)
    return _polymod(_clmul(acc ^ len(m), hash_key), f)


def wegman_carter_tag(bits, hash_key: int, pad: int, tau: int) -> int:
    """Tag = h_k(m) XOR pad, pad a fresh tau-bit one-time pad."""
    if not 0 <= pad < 1 << tau:
        raise ValueError(f"wegman_carter_tag: pad must have {tau} bits")
    return poly_hash(bits, hash_key, tau) ^ pad
