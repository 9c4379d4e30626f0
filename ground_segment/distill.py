"""Key distillation for the two ground stations: sifted bits -> verified, secret, authenticated-for key.

    result = distill(alice_bits, bob_bits, bases, qber_estimate=0.045, seed=7)

Steps (docs/key_distillation.md):

1. Error correction: Cascade over all sifted bits at once (ground_segment/cascade.py).  The errors it
   finds, per basis (bases are public after sifting), are the QBER: no bits are sacrificed for testing.
   Bob reports the two counts to Alice (one message).
2. QBER check: if the error fraction found exceeds ``qber_abort`` (default 11 %, the asymptotic BBM92
   threshold where 1 - 2 h(Q) = 0), the stations refuse: ``aborted = True``.  The errors found are a
   lower bound on the true errors (Cascade flips only real errors), so this refusal never depends on
   the verification.
3. Verification: a Toeplitz tag of ``tag_bits`` bits (ground_segment/privacy.py).  A failure is not a
   security event (Cascade left an error): ``aborted = False``, ``secret_bits = 0`` and the reason.
4. Finite-key bound (ground_segment/finite_key.py) with leak_EC = the parities Alice disclosed.
5. Authentication cost (ground_segment/authentication.py) of every classical message of the run,
   including the privacy-amplification message, subtracted: ``secret_bits`` is the NET key.  The
   privacy amplification outputs the bound's length; its last ``auth_cost_bits`` bits replace the
   authentication key consumed, and the first ``secret_bits`` are the stations' key
   (``alice_key``/``bob_key``).
6. When nothing is left, ``note`` says how many sifted bits the same QBER and efficiency would need
   (``needed_sifted_bits``).

Keys are written by the caller with ``write_key``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ground_segment import authentication as auth
from ground_segment import cascade
from ground_segment import finite_key as fk
from ground_segment import privacy

__all__ = [
    "DistillResult",
    "distill",
    "needed_sifted_bits",
    "write_key",
    "BASIS_Z",
    "BASIS_X",
    "DEFAULT_QBER_ABORT",
]

BASIS_Z = 0  # H/V
BASIS_X = 1  # D/A
DEFAULT_QBER_ABORT = 0.11  # 1 - 2 h(Q) = 0 at Q = 11.0 %: BBM92's asymptotic threshold
HEADER_BITS = cascade.MESSAGE_HEADER_BITS
_COUNT_BITS = 32  # one count in a message
_MAX_SIFTED = 1 << 40  # search limit of needed_sifted_bits


@dataclass
class DistillResult:
    """Outcome of one distillation (bits unless stated)."""

    sifted_bits: int  # n = n_Z + n_X
    errors: dict  # {"Z": errors found in Z, "X": in X, "total": both}
    qber: float  # errors found / n, over all sifted bits
    qber_z: float  # errors found in Z / n_Z (nan when n_Z = 0)
    qber_x: float  # errors found in X / n_X
    ec_disclosed_bits: int  # parity bits Alice disclosed (leak_EC)
    ec_efficiency: float  # f = ec_disclosed_bits / (n h(qber)); nan when qber = 0
    verification_ok: bool  # Toeplitz tags equal
    secret_bits: int  # net key: finite-key bound minus the authentication cost, >= 0
    alice_key: np.ndarray  # uint8 bits, secret_bits long
    bob_key: np.ndarray  # uint8 bits, identical to alice_key on success
    auth_cost_bits: int  # key consumed authenticating this run's messages
    aborted: bool  # True only for a security refusal (QBER above the threshold)
    abort_reason: str  # "" unless aborted
    note: str  # why secret_bits is 0, or "" (and the verification failure reason)
    finite_key: fk.FiniteKeyResult | None = None  # every term of the bound (None if aborted)
    gross_secret_bits: int = 0  # the bound before subtracting the authentication cost
    ec_messages: int = 0  # Cascade messages (both directions)
    message_sizes: list = field(default_factory=list)  # every message of the run (bits)
    auth_scheme: str = "per_message"
    auth_forgery_probability: float = 0.0  # union bound over the run's messages
    bob_disclosed_bits: int = 0  # Bob's revealed comparison outcomes (cascade.py), counted in leak_EC
                                 # only with count_bob_disclosure=True
    corrected_positions: np.ndarray = None  # sifted-bit indices error correction found wrong (sorted)


def needed_sifted_bits(qber: float, f: float, epsilon: float = fk.DEFAULT_EPSILON, auth_bits: int = 0,
                       tag_bits: int = privacy.DEFAULT_TAG_BITS, method: str = "hypergeometric") -> int | None:
    """Smallest n for which the finite-key bound exceeds ``auth_bits`` (> 0 when auth_bits = 0).

    Model: n sifted bits split evenly between the bases, each with round(qber n_B) errors,
    leak_EC = ceil(f n h(qber)).  Exponential then binary search on n.  None when the asymptotic
    rate is not positive (no n suffices).
    """
    if not 0 <= qber < 0.5 or f < 0:
        raise ValueError(f"needed_sifted_bits: need 0 <= qber < 0.5 and f >= 0, got {qber}, {f}")
    h = cascade.binary_entropy(qber)
    if 1.0 - f * h - h <= 0:
        return None

    def enough(n: int) -> bool:
        nz = n // 2
        nx = n - nz
        r = fk.finite_key_length(nz, nx, round(qber * nz), round(qber * nx), math.ceil(f * n * h),
                                 epsilon, tag_bits, method)
        return r.secret_bits > auth_bits

    hi = 64
    while not enough(hi):
        hi *= 2
        if hi > _MAX_SIFTED:
            return None
    lo = hi // 2  # not enough at lo (or lo below the first probe)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return hi


def write_key(path, bits) -> int:
    """Write a key as packed bytes, most significant bit first (np.packbits); returns bytes written.

    A key whose length is not a multiple of 8 is zero-padded at the end of its last byte: the reader
    must know the length in bits (``np.unpackbits(data)[:length]``).
    """
    b = np.asarray(bits)
    if b.ndim != 1 or (b.size and (b.min() < 0 or b.max() > 1)):
        raise ValueError("write_key: expected a 1-D array of 0/1 bits")
    data = np.packbits(b.astype(np.uint8)).tobytes()
    Path(path).write_bytes(data)
    return len(data)


def _rate(e: int, n: int) -> float:
    return e / n if n else float("nan")


def distill(alice_bits, bob_bits, bases, qber_estimate: float, seed: int,
            epsilon: float = fk.DEFAULT_EPSILON, qber_abort: float = DEFAULT_QBER_ABORT,
            tag_bits: int = privacy.DEFAULT_TAG_BITS, auth_scheme: str = "per_message",
            auth_security_bits: int = auth.DEFAULT_SECURITY_BITS, count_bob_disclosure: bool = False,
            method: str = "hypergeometric") -> DistillResult:
    """Distil a key from the two stations' sifted bits (module docstring).

    ``alice_bits``, ``bob_bits``: uint8 0/1 arrays of equal length; ``bases``: same length, 0 = Z
    (H/V), 1 = X (D/A).  ``qber_estimate``: the stations' prior, for Cascade's block sizes.  ``seed``:
    the public seed of the run (Cascade's permutations; the verification and privacy-amplification
    seeds Alice draws from it too, so a run is reproducible).
    """
    a = np.asarray(alice_bits)
    b = np.asarray(bob_bits)
    bs = np.asarray(bases)
    if not (a.ndim == b.ndim == bs.ndim == 1 and len(a) == len(b) == len(bs)):
        raise ValueError(f"distill: bits and bases must be 1-D of equal length, got {a.shape}, {b.shape}, {bs.shape}")
    for name, arr in (("alice_bits", a), ("bob_bits", b), ("bases", bs)):
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(f"distill: {name} must hold only 0 and 1")
    if auth_scheme not in auth.SCHEMES:
        raise ValueError(f"distill: auth_scheme must be one of {auth.SCHEMES}, got {auth_scheme!r}")
    a = a.astype(np.uint8)
    b = b.astype(np.uint8)
    is_x = bs.astype(bool)
    n = len(a)
    n_x = int(is_x.sum())
    n_z = n - n_x
    empty = np.zeros(0, dtype=np.uint8)
    if n < 2:
        return DistillResult(n, {"Z": 0, "X": 0, "total": 0}, float("nan"), float("nan"), float("nan"), 0,
                             float("nan"), False, 0, empty, empty, 0, False, "",
                             "too few sifted bits to run error correction (need 2)", auth_scheme=auth_scheme)

    # 1. error correction, and Bob's report of the errors per basis
    ec = cascade.reconcile(a, b, qber_estimate, seed)
    flipped = ec.corrected_positions
    e_x = int(is_x[flipped].sum())
    e_z = len(flipped) - e_x
    errors = {"Z": e_z, "X": e_x, "total": e_z + e_x}
    qber = errors["total"] / n
    h = cascade.binary_entropy(qber)
    efficiency = ec.disclosed_bits / (n * h) if h > 0 else float("nan")
    sizes = list(ec.message_sizes) + [HEADER_BITS + 2 * _COUNT_BITS]
    leak = ec.disclosed_bits + (ec.bob_disclosed_bits if count_bob_disclosure else 0)
    common = dict(sifted_bits=n, errors=errors, qber=qber, qber_z=_rate(e_z, n_z), qber_x=_rate(e_x, n_x),
                  ec_disclosed_bits=ec.disclosed_bits, ec_efficiency=efficiency, ec_messages=ec.messages,
                  auth_scheme=auth_scheme, bob_disclosed_bits=ec.bob_disclosed_bits,
                  corrected_positions=flipped)

    def cost(message_sizes: list) -> int:
        return auth.auth_cost_bits(message_sizes, auth_security_bits, auth_scheme)

    def finish(message_sizes: list, **kw) -> DistillResult:
        kw.setdefault("alice_key", empty)
        kw.setdefault("bob_key", empty)
        return DistillResult(**common, auth_cost_bits=cost(message_sizes), message_sizes=message_sizes,
                             auth_forgery_probability=auth.forgery_probability(message_sizes, auth_security_bits,
                                                                               auth_scheme), **kw)

    # 2. security refusal: errors found (a lower bound on the true errors) above the threshold
    if qber > qber_abort:
        return finish(sizes, verification_ok=False, secret_bits=0, aborted=True,
                      abort_reason=f"QBER {qber:.2%} above the abort threshold {qber_abort:.2%}",
                      note="aborted: no key")

    # 3. verification (Alice's seed from the run's seed, an independent stream)
    rng = np.random.default_rng([int(seed), 0x5645524946])  # "VERIF"
    ver = privacy.verify_keys(a, ec.bob_bits, rng, tag_bits, HEADER_BITS)
    sizes += ver.message_sizes
    if not ver.ok:
        return finish(sizes, verification_ok=False, secret_bits=0, aborted=False, abort_reason="",
                      note="verification failed: the keys still differ after error correction; no key "
                           "from this block (not a security abort)")

    # 4. finite-key bound; 5. the privacy-amplification message and the authentication cost
    bound = fk.finite_key_length(n_z, n_x, e_z, e_x, leak, epsilon, tag_bits, method)
    gross = bound.secret_bits
    pa_message = HEADER_BITS + _COUNT_BITS + (n + gross - 1 if gross > 0 else 0)  # length + Toeplitz seed
    sizes.append(pa_message)
    auth_bits = cost(sizes)
    net = gross - auth_bits
    if net <= 0:
        need = needed_sifted_bits(qber, efficiency if h > 0 else 1.0, epsilon, auth_bits, tag_bits, method) \
            if qber < 0.5 else None
        more = (f"; about {need} sifted bits needed at QBER {qber:.2%}, f = {efficiency:.3f} "
                f"and this authentication cost" if need else "; no block length suffices at this QBER")
        if min(n_z, n_x) == 0:
            note = (f"no sifted bits in the {'X' if n_x == 0 else 'Z'} basis: the phase errors of the other "
                    f"basis cannot be bounded, so the finite-key bound is 0 (N = {n})")
        elif gross <= 0:
            note = (f"too few sifted bits for the finite-key bound: bound {bound.bound_bits:.0f} bits "
                    f"from N = {n}{more}")
        else:
            note = (f"finite-key bound {gross} bits does not cover the authentication cost "
                    f"{auth_bits} bits ({auth_scheme}) from N = {n}{more}")
        return finish(sizes, verification_ok=True, secret_bits=0, aborted=False, abort_reason="", note=note,
                      finite_key=bound, gross_secret_bits=gross)

    # 6. privacy amplification: Alice draws the seed and sends it with the length
    pa_rng = np.random.default_rng([int(seed), 0x5041])  # "PA"
    pa_seed = privacy.random_seed_bits(pa_rng, n, gross)
    k_a = privacy.toeplitz_hash(a, gross, pa_seed)
    k_b = privacy.toeplitz_hash(ec.bob_bits, gross, pa_seed)
    return finish(sizes, verification_ok=True, secret_bits=net, aborted=False, abort_reason="", note="",
                  alice_key=k_a[:net], bob_key=k_b[:net], finite_key=bound, gross_secret_bits=gross)
