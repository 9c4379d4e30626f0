"""A seeded model of an impaired space-link channel (frames or datagrams, one direction).

COP-1 (CCSDS 232.1-B-2 §2.2, §2.3) exists because the TC uplink loses frames:
a CLTU whose start sequence or a code block is hit by noise never becomes a
frame, and a frame whose FECF fails is discarded (232.0-B-4 §4.1.4); the
standard also lets the lower layers duplicate and, through ground-station
diversity or a relay, re-order frames.  FOP-1 recovers by retransmitting until
the CLCW acknowledges, FARM-1 executes each Type-AD frame once and in order.
This module is the channel that puts those faults on the wire so the two can be
tested against them.  One instance per direction: the uplink carries CLTUs,
the downlink carries TM frames whose operational control field holds the CLCW,
so downlink loss delays the FOP's acknowledgements (its timer T1 then fires and
frames are sent again).

Parameters (``LinkImpairments``)
--------------------------------
``loss``
    Probability that a frame is lost outright (fade, missed acquisition of the
    start sequence or ASM, receiver busy).  Independent per frame.
``ber``
    Bit error rate: each bit of each delivered copy is inverted independently
    with this probability (an AWGN channel after demodulation, no burst
    structure).  The channel does *not* drop a corrupted frame: the receiver
    must (BCH decoding corrects one bit per CLTU code block and detects two,
    ending the CLTU; the TC and TM FECF catch what is left).  Drawn with
    geometric gaps between errors, so 1e-5 costs nothing per clean bit.
``duplicate``
    Probability that a delivered frame arrives twice (the copy right behind
    it, with its own bit errors): a ground station repeating a CLTU, a relay
    retrying.  FARM-1 must discard the second copy of a Type-AD frame (its N(S)
    is then in the negative window).
``reorder``, ``reorder_depth``
    Probability that a frame is held back, and the range (min, max) of the
    number of later frames it lets pass before it is delivered (uniform).
    Models delivery over more than one path.  FARM-1 discards a frame that
    arrives early (positive window: Retransmit flag) and one that arrives late
    (negative window) unless the depth exceeds the FARM's negative window NW
    (then the late frame lands in the lockout area: a property of COP-1's
    window, not a fault; keep ``reorder_depth[1]`` <= NW = W/2 = 10 here).
    A held frame is released after ``reorder_max_ms`` at the latest, so a frame
    is never held forever when traffic stops.
``outages``
    ``(start_ms, end_ms)`` intervals (channel time) in which everything sent is
    lost: a pass's loss of signal, a keyhole, a station handover.
``delay_ms``
    One-way propagation and processing delay added to every frame (LEO: a few
    ms of light time plus modem latency).
``rate_bps``
    Channel bit rate: a frame occupies the channel for ``8 * len / rate_bps``
    seconds and frames queue behind each other (None: infinitely fast).  This is
    what makes a burst of retransmissions take time, as on a real uplink.

Use::

    ch = LinkImpairments(seed=1, loss=0.2, ber=1e-5)
    ch.send(frame, now_ms)              # as the sender transmits
    for data in ch.receive(now_ms):     # what has arrived by now, in arrival order
        ...

Deterministic: the same seed and the same sequence of ``send``/``receive`` calls
give the same deliveries, bit for bit.  Counters (``stats()``) say what was done
to the stream.
"""

import math
import random

__all__ = ["LinkImpairments", "contact_outages"]


def contact_outages(orbit_s, contact_s, orbits, first_contact_s=0.0):
    """Outages (ms) of a link that is up only during one contact per orbit.

    Contact ``k`` (0 .. ``orbits``) lasts ``contact_s`` from ``first_contact_s + k * orbit_s``; the link
    is out between contacts (and before the first, when ``first_contact_s`` > 0): ``orbits`` + 1
    contacts, ``orbits`` outages between them.  For ``LinkImpairments(outages=...)``.
    """
    if not 0 < contact_s < orbit_s:
        raise ValueError(f"contact {contact_s} s outside (0, orbit {orbit_s} s)")
    out = [(0.0, first_contact_s * 1000.0)] if first_contact_s > 0 else []
    for k in range(orbits):
        aos = first_contact_s + k * orbit_s
        out.append(((aos + contact_s) * 1000.0, (aos + orbit_s) * 1000.0))
    return out


class LinkImpairments:
    """One direction of an impaired link (see the module docstring for every parameter)."""

    def __init__(self, seed=0, loss=0.0, ber=0.0, duplicate=0.0, reorder=0.0, reorder_depth=(1, 3),
                 outages=(), delay_ms=0.0, rate_bps=None, reorder_max_ms=2000.0, name="link"):
        for label, p in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{label} probability {p} outside [0, 1)")
        if not 0.0 <= ber < 0.5:
            raise ValueError(f"bit error rate {ber} outside [0, 0.5)")
        lo, hi = reorder_depth
        if not 1 <= lo <= hi:
            raise ValueError(f"reorder depth {reorder_depth} must satisfy 1 <= min <= max")
        for a, b in outages:
            if b <= a:
                raise ValueError(f"outage ({a}, {b}) ends before it starts")
        if rate_bps is not None and rate_bps <= 0:
            raise ValueError(f"rate {rate_bps} bit/s must be positive")
        self.name = name
        self.loss = loss  # probability a frame is lost
        self.ber = ber  # probability a bit is inverted
        self.duplicate = duplicate  # probability a frame is delivered twice
        self.reorder = reorder  # probability a frame is held back
        self.reorder_depth = (lo, hi)  # later frames a held frame lets pass (min, max)
        self.reorder_max_ms = reorder_max_ms  # longest hold (ms) when traffic stops
        self.outages = sorted(tuple(o) for o in outages)  # (start_ms, end_ms): total loss
        self.delay_ms = delay_ms  # one-way delay (ms)
        self.rate_bps = rate_bps  # channel bit rate (None: no serialisation time)
        self._rng = random.Random(seed)
        self._log1mp = math.log1p(-ber) if ber > 0 else 0.0
        self._bits_to_error = self._gap()  # clean bits before the next inverted bit
        self._busy_until = 0.0  # ms: end of the frame on the wire
        self._in_flight = []  # [arrival_ms, seq, data], sorted by arrival (then send order)
        self._held = []  # [frames still to pass, release_by_ms, data]
        self._seq = 0
        # counters
        self.sent = 0  # frames offered by the sender
        self.lost = 0  # dropped by ``loss``
        self.lost_outage = 0  # dropped inside an outage
        self.corrupted = 0  # delivered copies with at least one inverted bit
        self.bits_flipped = 0
        self.duplicated = 0  # extra copies delivered
        self.reordered = 0  # frames held back
        self.delivered = 0  # copies handed to the receiver

    # -- sender side -------------------------------------------------------------------
    def send(self, data, now_ms):
        """Put one frame on the channel at ``now_ms``."""
        self.sent += 1
        start = now_ms if now_ms > self._busy_until else self._busy_until
        dur = 0.0 if self.rate_bps is None else len(data) * 8000.0 / self.rate_bps
        self._busy_until = start + dur
        if self._in_outage(start, start + dur):
            self.lost_outage += 1
            return
        rng = self._rng
        if self.loss and rng.random() < self.loss:
            self.lost += 1
            return
        arrival = start + dur + self.delay_ms
        copies = 2 if self.duplicate and rng.random() < self.duplicate else 1
        if copies == 2:
            self.duplicated += 1
        for _ in range(copies):
            self._push(arrival, self._corrupt(data))

    # -- receiver side -----------------------------------------------------------------
    def receive(self, now_ms):
        """The frames that have arrived by ``now_ms``, in arrival order (list of bytes)."""
        out = []
        q = self._in_flight
        while q and q[0][0] <= now_ms:
            _, _, data = q.pop(0)
            if self.reorder and self._rng.random() < self.reorder:
                lo, hi = self.reorder_depth
                self.reordered += 1
                self._held.append([self._rng.randint(lo, hi), now_ms + self.reorder_max_ms, data])
                continue
            out.append(data)
            self._pass_held(out)
        if self._held:  # released by time when traffic has stopped
            keep = []
            for h in self._held:
                if h[1] <= now_ms:
                    out.append(h[2])
                else:
                    keep.append(h)
            self._held = keep
        self.delivered += len(out)
        return out

    @property
    def idle(self):
        """True when nothing is in flight or held back."""
        return not self._in_flight and not self._held

    def stats(self):
        return {"sent": self.sent, "lost": self.lost, "lost_outage": self.lost_outage,
                "corrupted": self.corrupted, "bits_flipped": self.bits_flipped,
                "duplicated": self.duplicated, "reordered": self.reordered, "delivered": self.delivered}

    # -- internals ---------------------------------------------------------------------
    def _in_outage(self, t0, t1):
        for a, b in self.outages:
            if t0 < b and t1 >= a:
                return True
        return False

    def _gap(self):
        """Clean bits before the next error: geometric with parameter ``ber``."""
        if not self.ber:
            return -1
        u = self._rng.random()
        return int(math.log1p(-u) / self._log1mp)

    def _corrupt(self, data):
        if self.ber == 0.0:
            return bytes(data)
        nbits = len(data) * 8
        k = self._bits_to_error
        if k >= nbits:
            self._bits_to_error = k - nbits
            return bytes(data)
        buf = bytearray(data)
        pos = k
        while pos < nbits:
            buf[pos >> 3] ^= 0x80 >> (pos & 7)
            self.bits_flipped += 1
            pos += 1 + self._gap()
        self._bits_to_error = pos - nbits
        self.corrupted += 1
        return bytes(buf)

    def _push(self, arrival, data):
        self._seq += 1
        q = self._in_flight
        i = len(q)
        while i and q[i - 1][0] > arrival:
            i -= 1
        q.insert(i, [arrival, self._seq, data])

    def _pass_held(self, out):
        """One frame was delivered: each held frame has one fewer to let pass."""
        if not self._held:
            return
        keep = []
        for h in self._held:
            h[0] -= 1
            if h[0] <= 0:
                out.append(h[2])
            else:
                keep.append(h)
        self._held = keep
