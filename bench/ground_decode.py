"""Bulk decode of an archived TM frame stream to calibrated parameters, on one core (printed, never asserted).

    .venv/bin/python -m bench.ground_decode [--mb MB] [--rounds N]

Two streams of 1115-octet TM frames, both from the payload itself (PayloadApp
on the fake HAL, its on-board time set by TC[9,128] through the lab port):

- *as downlinked*: the frames it wrote on its space link over a few virtual
  minutes, repeated to the stream size with the master and VC frame counts
  renumbered and the FECFs recomputed, so the ground sees one continuous pass.
  At the housekeeping rates of the mission database most of each frame is an
  idle packet: this is what a real archive of this payload holds.
- *packed*: the same payload's TM packets queued back to back by
  ``bus.tm_frame.TmFrameBuilder`` so that every frame is full (about 15
  housekeeping packets, 150 parameter values per frame): the worst case for
  the decoder, and the figure the 20 MB/s target is held against.

Each is decoded by ``ground_segment.mdb_decode.decode_frames`` (frames checked,
packets reassembled and CRC-checked, housekeeping parsed by numpy structured
dtypes and calibrated; events, verification and the rest by the per-packet
decoder); the figure is the best of ``--rounds``.  For scale: the reference
path (``bus.tm_frame.TmFrameReader`` and ``Decoder`` packet by packet) on a
slice of the packed stream, and the per-packet decoder's rates (struct and
construct) on one housekeeping packet.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB_S = 20.0
TIME_SET_DAYS = 24000  # 2023-09-16


def _payload_traffic(virtual_s: int):
    """(space-link frames, TM packets from the lab port) of a payload run for ``virtual_s`` seconds."""
    from bus import mdb
    from bus.pus import pack_tc
    from hal.fake import FakeHal
    from payload.app import PayloadApp

    hal = FakeHal()
    app = PayloadApp(hal)
    app.start()
    c = mdb.command("TIME_SET")
    hal.links["lab"].rx.append(pack_tc(c[1], 1, c[2], c[3], struct.pack(mdb.args_format(c[5]), TIME_SET_DAYS, 0)))
    clock = hal.clock
    for _ in range(virtual_s * 1000):
        app.step()
        clock.advance(1000)
    return list(hal.links["space"].tx), list(hal.links["lab"].tx)


def _renumbered(frames: list[bytes], n_frames: int) -> bytes:
    """``frames`` repeated to ``n_frames``, master and VC frame counts continuous, FECFs recomputed."""
    from ground_segment.packets import crc16

    out = bytearray()
    vc_count = [0] * 8
    for i in range(n_frames):
        f = bytearray(frames[i % len(frames)])
        vc = (f[1] >> 1) & 7
        f[2] = i & 0xFF
        f[3] = vc_count[vc]
        vc_count[vc] = (vc_count[vc] + 1) & 0xFF
        f[-2:] = crc16(bytes(f[:-2])).to_bytes(2, "big")
        out += f
    return bytes(out)


def _packed(packets: list[bytes], n_frames: int) -> bytes:
    from bus import mdb
    from bus.tm_frame import TmFrameBuilder

    b = TmFrameBuilder(mdb.SPACECRAFT_ID, mdb.TM_FRAME_LEN, vc_slots=(16,))
    out = bytearray()
    i = 0
    for _ in range(n_frames):
        while b.free_bytes(0) > 256:
            b.queue_packet(0, packets[i % len(packets)])
            i += 1
        out += b.next_frame(0)
    return bytes(out)


def _best(fn, rounds: int) -> tuple[float, object]:
    best, res = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def _rate(fn, seconds: float = 0.3) -> float:
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(200):
            fn()
        n += 200
        dt = time.perf_counter() - t0
        if dt > seconds:
            return n / dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ground_decode", description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=24.0, help="stream size in MB (default 24)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per figure, best kept (default 3)")
    ap.add_argument("--virtual-s", type=int, default=120, help="virtual seconds of payload traffic (default 120)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bus import mdb
    from ground_segment import mdb_decode as md
    from ground_segment import packets as gp

    L = mdb.TM_FRAME_LEN
    n_frames = max(1, int(args.mb * 1e6 / L))
    frames, lab = _payload_traffic(args.virtual_s)
    streams = (("as downlinked", _renumbered(frames, n_frames)), ("packed", _packed(lab, n_frames)))
    print(f"Ground bulk decode: TM frame stream -> calibrated parameters (one core, best of {args.rounds})")
    print(f"  payload traffic: {args.virtual_s} s virtual, {len(frames)} frames, {len(lab)} TM packets; "
          f"streams of {n_frames:,d} frames ({n_frames * L / 1e6:.1f} MB)")
    packed_mb_s = 0.0
    for label, stream in streams:
        dt, res = _best(lambda s=stream: md.decode_frames(s), args.rounds)
        mb_s = len(stream) / dt / 1e6
        if label == "packed":
            packed_mb_s = mb_s
        print(f"  {label + ':':<15s}{res.frames / dt:>10,.0f} frames/s {mb_s:>7.1f} MB/s  "
              f"{res.packets / dt:>10,.0f} packets/s {res.n_samples / dt / 1e6:>6.2f} M values/s "
              f"({res.hk_packets:,d} HK packets, {res.idle_packets:,d} idle, {len(res.records):,d} other records, "
              f"{res.vc_gaps} gaps, {sum(res.errors.values())} errors)")
    verdict = "met" if packed_mb_s >= TARGET_MB_S else "MISSED"
    print(f"  target >= {TARGET_MB_S:g} MB/s on the packed stream: {verdict}")
    packed = streams[1][1]
    k = min(len(packed) // L, 2000) * L
    dt, res = _best(lambda: md.decode_frames(packed[:k], method="reader"), 1)
    print(f"  reference path (TmFrameReader + Decoder per packet), packed: {k / dt / 1e6:.2f} MB/s "
          f"({res.frames / dt:,.0f} frames/s)")
    hk = next(p for p in lab if p[7] == 3 and p[8] == 25 and ((p[0] & 7) << 8 | p[1]) == mdb.APID_MANAGER)
    fast, slow = md.Decoder(), md.Decoder(fast=False)
    tm = gp.decode_tm(hk)
    r_fast = _rate(lambda: fast.decode(tm))
    r_slow = _rate(lambda: slow.decode(tm))
    r_bytes = _rate(lambda: fast.decode(hk))
    n = len(fast.decode(tm))
    print(f"  per packet, HK_MANAGER ({len(hk)} octets, {n} values): struct {r_fast:,.0f}/s, "
          f"construct {r_slow:,.0f}/s ({r_fast / r_slow:.0f}x); from bytes with CRC {r_bytes:,.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
