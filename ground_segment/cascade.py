"""Cascade error correction between the two ground stations, as two parties exchanging classical messages.

Alice holds the reference key; Bob holds a noisy copy and corrects it.  The two are separate objects:
``CascadeAlice`` answers parity requests from her own bits and counts every parity she discloses;
``CascadeBob`` never sees Alice's bits, only the messages the channel (``ClassicalChannel``) hands him.
Every message is recorded with its payload size in bits, for the authentication cost
(ground_segment/authentication.py).

Protocol (Brassard & Salvail, EUROCRYPT '93, "Secret-key reconciliation by public discussion", with the
improvements of Martinez-Mateo, Pacher, Peev, Ciurana & Martin, QIC 15, 453 (2015), "Demystifying the
information reconciliation protocol Cascade"):

- Bob opens with HELLO: the key length n, a public 64-bit seed and the block size of every pass.  Pass p
  shuffles the key by the permutation ``pass_permutation(seed, p, n)`` (both sides derive it from the
  seed) and cuts the shuffled key into consecutive blocks of k_p bits.
- Block sizes (``block_schedule``): powers of two, so a binary search costs exactly log2(k) parities
  (Martinez-Mateo et al.); k_1 = 0.73/Q (the original Cascade's first block, Q = the stations' prior
  QBER estimate) rounded down to a power of two, k_2 = 4 k_1, then n/2 for the remaining passes
  (16 passes in all by default; Martinez-Mateo et al. also end with n/2 blocks).  The rounding and the
  factor 4 were chosen here by simulation (k_1 in 8..64, k_2/k_1 in 2, 4, 8 at Q = 2, 4.5 and 8 %,
  n = 1000..10000): within 1-3 % of the best efficiency found, with 2-4 times fewer rounds (and so
  fewer messages to authenticate) than the best-efficiency choice.
- Alice's parities of all blocks of all passes are asked for at once, with HELLO: which blocks they
  are does not depend on the data, so asking early discloses nothing more than asking pass by pass,
  and saves a round trip per pass.  From pass 2 on, the parity of the last block is not asked for:
  Bob infers it from Alice's parity of the whole key, which the first pass's blocks give
  (block-parity inference).  Bob still works through the passes in order: a pass's searches, with
  their back-tracking, end before he looks at the next pass's blocks.
- A block whose parity differs holds an odd number of errors; Bob finds one by binary search, asking
  for the parity of the left half and inferring the right half's (parent XOR left: never disclosed
  twice).  Every parity Alice ever disclosed (or Bob inferred) is kept, per pass, and reused: a search
  starts from the smallest known sub-block whose parity differs (sub-block reuse).
- Cascade back-tracking: flipping bit j changes the parity of the block holding j in every pass so far;
  each such block that now differs is searched again.
- Rounds are batched: in each round Bob sends one message holding the next request of every open
  search, and Alice answers all of them in one message.  Searches that can proceed on known parities
  alone do so without a message.

What is counted:

- ``disclosed_bits``: every parity bit Alice sends (counted by Alice, as she sends it).  This is
  leak_EC in the finite-key bound (ground_segment/finite_key.py).  Parities Bob infers are not sent
  and not counted; they are linear combinations of parities already counted.
- ``bob_disclosed_bits``: what Bob's messages reveal.  His requests depend on comparisons of his
  parities with Alice's, i.e. on parities of the error string A XOR B; we count one bit per distinct
  comparison outcome (sub-block, Bob's current parity of it) that his later messages depend on
  (a request, a flip, or no request at all).  The standard
  Cascade accounting, used here for leak_EC, leaves them out: they are functions of the error pattern,
  which tells nothing about Alice's key when the errors are independent of her bits.  A caller who does
  not grant that can add them (``distill(..., count_bob_disclosure=True)``).
- ``message_bits`` / ``message_sizes``: the classical payload of every message, both directions,
  with a 32-bit header each (kind and length).  HELLO: n (32 bits), seed (64), pass count (8) and
  32 bits per block size; the block parities it asks for follow from these and cost nothing more.
  A later request for the parity of a sub-block costs 8 bits (pass) + 2 ceil(log2(n+1)) (start, end).

Efficiency, defined as in the literature: f = disclosed_bits / (n h(Q)), Q the actual error fraction.
Measured figures: docs/key_distillation.md and tests/test_key_distillation.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = [
    "binary_entropy",
    "block_schedule",
    "pass_permutation",
    "Message",
    "ClassicalChannel",
    "CascadeAlice",
    "CascadeBob",
    "CascadeResult",
    "reconcile",
    "DEFAULT_PASSES",
    "MESSAGE_HEADER_BITS",
]

DEFAULT_PASSES = 16  # Martinez-Mateo et al. 2015: enough passes that residual errors are rare
MESSAGE_HEADER_BITS = 32  # kind (8 bits) + payload length (24 bits), every message
SEED_BITS = 64  # the public permutation seed
_PASS_BITS = 8  # pass index in a request
_Q_FLOOR = 1e-4  # prior QBER estimates below this are treated as this (block size <= 2^14)

HELLO = "hello"  # Bob -> Alice: n, seed, block sizes; plus the first requests
REQUEST = "parity-request"  # Bob -> Alice: list of (pass, start, end) in the pass's shuffled order
PARITIES = "parities"  # Alice -> Bob: one bit per request, in order


def binary_entropy(q):
    """h(q) = -q log2 q - (1-q) log2(1-q), with h(0) = h(1) = 0; scalar in, float out (arrays elementwise)."""
    a = np.asarray(q, dtype=float)
    if np.any((a < 0) | (a > 1)):
        raise ValueError(f"binary_entropy: q must be in [0, 1], got {q}")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -a * np.log2(a) - (1 - a) * np.log2(1 - a)
    h = np.where((a == 0) | (a == 1), 0.0, h)
    return float(h) if h.ndim == 0 else h


def block_schedule(n: int, qber_estimate: float, passes: int = DEFAULT_PASSES) -> list[int]:
    """Block size of each pass: k_1 = 2^floor(log2(0.73/Q)), k_2 = 4 k_1, then n/2 (all capped at n/2).

    Powers of two (so a binary search discloses exactly log2 k parities) and two small-block passes
    followed by half-key passes, after Martinez-Mateo et al. 2015; the constants are this module's
    (see the module docstring).
    """
    if n < 2:
        raise ValueError(f"block_schedule: need at least 2 bits, got n = {n}")
    if passes < 1:
        raise ValueError(f"block_schedule: need at least one pass, got {passes}")
    q = min(max(float(qber_estimate), _Q_FLOOR), 0.5)
    half = max(n // 2, 1)
    k1 = min(2 ** max(1, math.floor(math.log2(0.73 / q))), half)
    sizes = [k1, min(4 * k1, half)] + [half] * (passes - 2)
    return sizes[:passes]


def pass_permutation(seed: int, pass_index: int, n: int) -> np.ndarray:
    """The shuffle of pass ``pass_index``: position i of the shuffled key is original bit perm[i].

    Derived from the public seed by numpy's PCG64 seeded with (seed, pass_index): both parties compute
    the same permutation without exchanging it.
    """
    return np.random.default_rng([int(seed), int(pass_index)]).permutation(n)


@dataclass
class Message:
    """One classical message: who sent it, what it is, its content and its payload size in bits."""

    sender: str  # "alice" or "bob"
    kind: str  # HELLO, REQUEST or PARITIES
    payload: dict
    bits: int  # payload size including the MESSAGE_HEADER_BITS header


class ClassicalChannel:
    """Carries Bob's messages to Alice and her answers back; records every message (the transcript)."""

    def __init__(self, alice: "CascadeAlice"):
        self._alice = alice  # the far end; Bob holds only this channel
        self.transcript: list[Message] = []  # every message, both directions, in order

    def send(self, message: Message) -> Message:
        """Deliver Bob's ``message`` to Alice and return her answer."""
        self.transcript.append(message)
        answer = self._alice.handle(message)
        self.transcript.append(answer)
        return answer


def _index_bits(n: int) -> int:
    """Bits to write one position 0..n."""
    return max(1, math.ceil(math.log2(n + 1)))


class CascadeAlice:
    """Alice's side: answers parity requests from her key and counts every parity she discloses."""

    def __init__(self, bits):
        bits = np.asarray(bits)
        if bits.ndim != 1:
            raise ValueError(f"CascadeAlice: key must be 1-D, got shape {bits.shape}")
        self._bits = (bits & 1).astype(np.uint8)  # her key, never sent
        self.n = len(self._bits)  # key length (bits)
        self.disclosed_bits = 0  # parity bits sent so far
        self._seed = None  # public permutation seed, from HELLO
        self._sizes = None  # block size per pass, from HELLO
        self._prefix: dict[int, np.ndarray] = {}  # pass -> prefix XOR of her shuffled key (n+1 entries)

    def _prefix_of(self, p: int) -> np.ndarray:
        pre = self._prefix.get(p)
        if pre is None:
            shuffled = self._bits[pass_permutation(self._seed, p, self.n)]
            pre = np.zeros(self.n + 1, dtype=np.uint8)
            np.cumsum(shuffled, out=pre[1:], dtype=np.uint8)  # uint8 wraps mod 256: parity survives
            pre &= 1
            self._prefix[p] = pre
        return pre

    def handle(self, message: Message) -> Message:
        """Answer one message from Bob with the parities it asks for."""
        if message.kind == HELLO:
            if message.payload["n"] != self.n:
                raise ValueError(f"CascadeAlice: Bob's key has {message.payload['n']} bits, hers {self.n}")
            self._seed = int(message.payload["seed"])
            self._sizes = list(message.payload["block_sizes"])
        elif message.kind != REQUEST:
            raise ValueError(f"CascadeAlice: unexpected message kind {message.kind!r}")
        if self._seed is None:
            raise ValueError("CascadeAlice: parity request before HELLO")
        requests = message.payload["requests"]
        answer = np.empty(len(requests), dtype=np.uint8)
        for i, (p, s, e) in enumerate(requests):
            if not (0 <= p < len(self._sizes) and 0 <= s < e <= self.n):
                raise ValueError(f"CascadeAlice: bad request (pass {p}, [{s}, {e})) for n = {self.n}")
            pre = self._prefix_of(p)
            answer[i] = pre[e] ^ pre[s]
        self.disclosed_bits += len(answer)
        return Message("alice", PARITIES, {"parities": answer}, MESSAGE_HEADER_BITS + len(answer))


class CascadeBob:
    """Bob's side: drives the protocol over ``send`` and corrects his copy of the key.

    ``send`` is the only link to Alice: it takes Bob's message and returns hers.
    """

    def __init__(self, bits, send: Callable[[Message], Message]):
        bits = np.asarray(bits)
        if bits.ndim != 1:
            raise ValueError(f"CascadeBob: key must be 1-D, got shape {bits.shape}")
        self.bits = (bits & 1).astype(np.uint8)  # his key, corrected in place
        self.n = len(self.bits)
        self._send = send
        self.flipped: list[int] = []  # original positions Bob corrected, in order
        self.bob_disclosed_bits = 0  # distinct comparison outcomes his requests reveal
        self.rounds = 0  # request/answer exchanges
        self.seed = None  # public permutation seed (set by run)
        self.sizes: list[int] = []  # block size per pass (set by run)
        self._perm: list[list] = []  # per pass: shuffled position -> original position
        self._pos: list[list] = []  # per pass: original position -> shuffled position
        self._shuffled: list[np.ndarray] = []  # per pass: Bob's key in that pass's order
        self._known: list[dict] = []  # per pass: (start, end) -> Alice's parity (sent or inferred)
        self._compared: set = set()  # (pass, start, end, Bob's parity) outcomes already counted

    # --- per-pass state -------------------------------------------------------------------------
    def _start_pass(self, p: int) -> None:
        perm = pass_permutation(self.seed, p, self.n)
        pos = np.empty(self.n, dtype=np.int64)
        pos[perm] = np.arange(self.n)
        self._perm.append(perm.tolist())  # Python lists: element access is on the hot path
        self._pos.append(pos.tolist())
        self._shuffled.append(self.bits[perm])  # Bob's key in this pass's order, kept in step
        self._known.append({})  # (start, end) -> Alice's parity, disclosed or inferred

    def _bob_parity(self, p: int, s: int, e: int) -> int:
        return int(np.count_nonzero(self._shuffled[p][s:e])) & 1

    def _top_block(self, p: int, j: int) -> tuple[int, int, int]:
        """(pass, start, end) of the block of pass p that holds original bit j."""
        k = self.sizes[p]
        s = (self._pos[p][j] // k) * k
        return (p, s, min(s + k, self.n))

    def _flip(self, j: int) -> None:
        self.bits[j] ^= 1
        for shuffled, pos in zip(self._shuffled, self._pos):
            shuffled[pos[j]] ^= 1
        self.flipped.append(j)

    def _compare(self, p: int, s: int, e: int, alice: int) -> bool:
        """True when Bob's parity of [s, e) in pass p differs from Alice's; counts the revealed outcome."""
        bob = self._bob_parity(p, s, e)
        key = (p, s, e, bob)
        if key not in self._compared:
            self._compared.add(key)
            self.bob_disclosed_bits += 1
        return bob != alice

    def _descend(self, p: int, s: int, e: int):
        """Walk an odd block down its known parities: None (even), ('flip', j) or ('ask', (p, s, m))."""
        known = self._known[p]
        a = known[(s, e)]
        if not self._compare(p, s, e, a):
            return None
        while e - s > 1:
            m = s + (e - s + 1) // 2
            a_left = known.get((s, m))
            a_right = known.get((m, e))
            if a_left is None and a_right is None:
                return ("ask", (p, s, m))
            if a_left is None:
                a_left = a ^ a_right
                known[(s, m)] = a_left
            elif a_right is None:
                a_right = a ^ a_left
                known[(m, e)] = a_right
            if self._compare(p, s, m, a_left):
                e, a = m, a_left
            else:
                s, a = m, a_right
        return ("flip", self._perm[p][s])

    def _request_bits(self, count: int) -> int:
        return count * (_PASS_BITS + 2 * _index_bits(self.n))

    # --- protocol ---------------------------------------------------------------------------------
    def run(self, sizes: list[int], seed: int) -> None:
        """Run every pass of Cascade with block sizes ``sizes`` and the public permutation ``seed``."""
        if not 0 <= int(seed) < 2**SEED_BITS:
            raise ValueError(f"CascadeBob: seed must fit in {SEED_BITS} bits, got {seed}")
        self.seed = int(seed)
        self.sizes = [int(k) for k in sizes]
        self._perm, self._pos, self._shuffled, self._known = [], [], [], []
        self._compared = set()
        for p in range(len(self.sizes)):
            self._start_pass(p)
        # The block parities of every pass do not depend on the data: ask for all of them at once,
        # with HELLO (the last block of passes 2.. is inferred from the whole key's parity).
        blocks = []  # per pass: [(start, end), ...]
        requests = []
        for p, k in enumerate(self.sizes):
            blocks.append([(s, min(s + k, self.n)) for s in range(0, self.n, k)])
            asked = blocks[p] if p == 0 else blocks[p][:-1]
            requests += [(p, s, e) for s, e in asked]
        parities = self._exchange(requests, hello=True)
        for (p, s, e), a in zip(requests, parities):
            self._known[p][(s, e)] = int(a)
        total_parity = 0
        for s, e in blocks[0]:
            total_parity ^= self._known[0][(s, e)]
        for p in range(1, len(self.sizes)):
            known = self._known[p]
            last = total_parity
            for s, e in blocks[p][:-1]:
                last ^= known[(s, e)]
            known[blocks[p][-1]] = last
        # Bob works through the passes in order: a pass's searches, with their back-tracking into
        # the earlier passes, finish before the next pass's blocks are looked at.
        for p in range(len(self.sizes)):
            self._correct([(p, s, e) for s, e in blocks[p]], p)

    def _exchange(self, requests: list, hello: bool = False) -> np.ndarray:
        payload = {"requests": requests}
        if hello:  # the requests (every block of every pass) follow from n and the block sizes
            kind = HELLO
            payload.update(n=self.n, seed=self.seed, block_sizes=list(self.sizes))
            bits = MESSAGE_HEADER_BITS + 32 + SEED_BITS + _PASS_BITS + 32 * len(self.sizes)
        else:
            kind = REQUEST
            bits = MESSAGE_HEADER_BITS + self._request_bits(len(requests))
        answer = self._send(Message("bob", kind, payload, bits))
        if answer.kind != PARITIES or len(answer.payload["parities"]) != len(requests):
            raise ValueError("CascadeBob: Alice's answer does not match the request")
        self.rounds += 1
        return answer.payload["parities"]

    def _correct(self, blocks: list, current_pass: int) -> None:
        """Binary searches on every odd block, with back-tracking into passes 0..current_pass."""
        active = list(blocks)
        while active:
            queue = active
            queued = set(queue)
            waiting: list = []
            requests: list = []
            asked: set = set()
            while queue:
                blk = queue.pop()
                queued.discard(blk)
                step = self._descend(*blk)
                if step is None:
                    continue
                what, arg = step
                if what == "flip":
                    self._flip(arg)
                    for p in range(current_pass + 1):
                        other = self._top_block(p, arg)
                        if other not in queued:
                            queued.add(other)
                            queue.append(other)
                else:
                    waiting.append(blk)
                    if arg not in asked:
                        asked.add(arg)
                        requests.append(arg)
            if not requests:
                break
            parities = self._exchange(requests)
            for (p, s, e), a in zip(requests, parities):
                self._known[p][(s, e)] = int(a)
            active = list(dict.fromkeys(waiting))


@dataclass
class CascadeResult:
    """Outcome of one Cascade run (see the module docstring for what each count covers)."""

    bob_bits: np.ndarray  # Bob's corrected copy (uint8 bits)
    disclosed_bits: int  # parity bits Alice disclosed: leak_EC
    errors_corrected: int  # bits Bob flipped (each flip corrects a real error)
    passes: int  # passes run
    messages: int  # classical messages, both directions
    message_bits: int  # their total payload (bits), for the authentication cost
    message_sizes: list = field(default_factory=list)  # payload of each message (bits), in order
    corrected_positions: np.ndarray = None  # positions Bob flipped (sorted)
    bob_disclosed_bits: int = 0  # comparison outcomes Bob's requests reveal (not in leak_EC)
    rounds: int = 0  # request/answer exchanges
    block_sizes: list = field(default_factory=list)  # block size per pass

    def efficiency(self, n: int, qber: float) -> float:
        """f = disclosed_bits / (n h(qber)); nan when h(qber) = 0."""
        h = binary_entropy(qber)
        return self.disclosed_bits / (n * h) if h > 0 else float("nan")


def reconcile(alice_bits, bob_bits, qber_estimate: float, seed: int, passes: int = DEFAULT_PASSES,
              block_sizes: list | None = None) -> CascadeResult:
    """Run Cascade between an Alice holding ``alice_bits`` and a Bob holding ``bob_bits``.

    ``qber_estimate`` is the stations' prior QBER, used only to choose the block sizes
    (``block_schedule``) unless ``block_sizes`` gives them.  ``seed`` is the public permutation seed
    (0 <= seed < 2^64) Bob announces in HELLO.  The inputs are not modified.
    """
    a = np.asarray(alice_bits)
    b = np.asarray(bob_bits)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"reconcile: keys must be 1-D and of equal length, got {a.shape} and {b.shape}")
    n = len(a)
    sizes = list(block_sizes) if block_sizes is not None else block_schedule(n, qber_estimate, passes)
    if any(k < 1 for k in sizes):
        raise ValueError(f"reconcile: block sizes must be positive, got {sizes}")
    alice = CascadeAlice(a)
    channel = ClassicalChannel(alice)
    bob = CascadeBob(b, channel.send)
    bob.run(sizes, seed)
    sizes_bits = [m.bits for m in channel.transcript]
    return CascadeResult(
        bob_bits=bob.bits,
        disclosed_bits=alice.disclosed_bits,
        errors_corrected=len(bob.flipped),
        passes=len(sizes),
        messages=len(channel.transcript),
        message_bits=int(sum(sizes_bits)),
        message_sizes=sizes_bits,
        corrected_positions=np.array(sorted(bob.flipped), dtype=np.int64),
        bob_disclosed_bits=bob.bob_disclosed_bits,
        rounds=bob.rounds,
        block_sizes=sizes,
    )
