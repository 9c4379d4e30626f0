"""PUS TM encode and decode rates on CPython: ours against spacepackets 0.32 (printed, never asserted).

    .venv/bin/python -m bench.pus [--seconds S]

The packet: PUS-C TM[3,25] from APID 0x020 with a 7-octet CDS short time stamp
and 64 octets of source data (86 octets in all).  Every figure is the best of
three rounds, the rounds of all contenders interleaved so that a busy machine
slows them alike.

Encoding a real TM packet means a new sequence count, message type counter and
time stamp every time, so the encode ratio compares our flight encoder with the
cheapest way spacepackets produces such a fresh packet: updating those fields
of one reused ``PusTm`` and calling ``pack()``.  Re-packing an unchanged
``PusTm`` (the same octets every time) and building a new ``PusTm`` per packet
are printed beside it, with their ratios, so nothing is hidden.

The construct figures are the declarations of ground_segment/packets.py.  Their
compiled form gains little: construct 2.10 cannot compile RawCopy and Checksum
(the CRC check over the raw octets), so the compiled packet calls the same
interpreted parsers inside; that is why the ground's hot path is decode_tm.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DATA = bytes(range(64))
APID = 0x020
TARGET_RATIO = 2.0


def _rate(fn, seconds: float) -> float:
    """Calls of ``fn`` per second, run in batches for about ``seconds``."""
    batch = 1
    while True:  # size a batch to ~1/20 of the budget
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        dt = time.perf_counter() - t0
        if dt > seconds / 20:
            break
        batch *= 2
    n, spent = 0, 0.0
    while spent < seconds:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        spent += time.perf_counter() - t0
        n += batch
    return n / spent


def contenders():
    """name -> zero-argument callable doing one encode or decode."""
    import construct  # noqa: F401 - fail early with a clear ImportError
    from spacepackets.ccsds.time import CdsShortTimestamp
    from spacepackets.ecss.tm import PusTm

    from bus import pus
    from bus.cds_time import FlightTime
    from ground_segment import packets as gp
    from hal.fake import VirtualClock

    clock = VirtualClock(start_us=123_456_789)
    flight_time = FlightTime(clock)
    flight_time.set_epoch(24_000, 43_200_000)
    writer = pus.TmPacketWriter(flight_time, [APID], max_app_data_len=len(APP_DATA))
    n = writer.pack(APID, 3, 25, APP_DATA)
    raw = bytes(writer.buf[:n])
    own = bytearray(n)
    own[pus.TM_APP_DATA_OFFSET:pus.TM_APP_DATA_OFFSET + len(APP_DATA)] = APP_DATA

    stamp = CdsShortTimestamp(24_000, 43_200_000, init_dt_unix_stamp=False).pack()
    reused = PusTm(service=3, message_subtype=25, timestamp=stamp, source_data=APP_DATA, apid=APID)
    sec, hdr = reused.pus_tm_sec_header, reused.space_packet_header
    count = [0]

    def sp_update_pack():
        i = count[0] = (count[0] + 1) & 0x3FFF
        hdr.seq_count = i
        sec.message_counter = i
        sec.timestamp = struct.pack(">BHI", 0x40, 24_000, 43_200_000 + i)
        return reused.pack()

    def sp_build_pack():
        i = count[0] = (count[0] + 1) & 0x3FFF
        return PusTm(service=3, message_subtype=25, apid=APID, seq_count=i, message_counter=i,
                     timestamp=CdsShortTimestamp(24_000, 43_200_000 + i).pack(), source_data=APP_DATA).pack()

    struct_parse = gp.PusTmPacket.parse
    compiled_parse = gp.compiled_tm_packet().parse
    assert gp.decode_tm(raw) == gp.tm_from_container(struct_parse(raw)) == gp.tm_from_container(compiled_parse(raw))
    assert PusTm.unpack(raw, 7).source_data == APP_DATA and len(sp_update_pack()) == len(raw)
    return {
        "sp_pack_unchanged": reused.pack,
        "sp_update_pack": sp_update_pack,
        "sp_build_pack": sp_build_pack,
        "sp_unpack": lambda: PusTm.unpack(raw, 7),
        "flight_pack": lambda: writer.pack(APID, 3, 25, APP_DATA),
        "ground_encode": lambda: gp.encode_tm(APID, 5, 3, 25, 24_000, 43_200_000, APP_DATA, 5),
        "flight_seal": lambda: writer.seal(own, 0, APID, 3, 25, len(APP_DATA)),
        "flight_unpack_tm": lambda: pus.unpack_tm(raw),
        "decode_tm": lambda: gp.decode_tm(raw),
        "construct_parse": lambda: struct_parse(raw),
        "construct_compiled_parse": lambda: compiled_parse(raw),
    }


def figures(seconds: float = 0.2, rounds: int = 3) -> dict[str, float]:
    """Best packets/s of each contender over ``rounds`` interleaved rounds."""
    fns = contenders()
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = max(best[name], _rate(fn, seconds))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pus", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=0.2, help="measuring time per contender and round")
    args = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    f = figures(args.seconds)
    enc = f["ground_encode"] / f["sp_update_pack"]
    enc_flight = f["flight_pack"] / f["sp_update_pack"]
    dec = f["decode_tm"] / f["sp_unpack"]

    def line(label, key, note=""):
        print(f"  {label:<50s}{f[key]:>11,.0f} /s{note}")

    print(f"PUS TM with a 7-octet CDS time stamp and {len(APP_DATA)} octets of data, CPython "
          f"{sys.version.split()[0]} (packets/s, best of 3 interleaved rounds)")
    print(" encode")
    line("spacepackets: update fields of a PusTm, pack()", "sp_update_pack")
    line("spacepackets: pack() an unchanged PusTm", "sp_pack_unchanged", "  (same octets every time)")
    line("spacepackets: new PusTm + pack()", "sp_build_pack")
    line("ours: flight TmPacketWriter.pack (copies data)", "flight_pack")
    line("ours: flight TmPacketWriter.seal (data in place)", "flight_seal")
    line("ours: ground encode_tm (struct + C CRC, new bytes)", "ground_encode")
    print(" decode")
    line("spacepackets: PusTm.unpack", "sp_unpack")
    line("ours: ground decode_tm (struct + crcmod)", "decode_tm")
    line("ours: flight unpack_tm (on CPython)", "flight_unpack_tm")
    line("construct: PusTmPacket.parse", "construct_parse")
    line("construct: PusTmPacket compiled, parse", "construct_compiled_parse",
         "  (RawCopy/Checksum stay interpreted)")
    print(f"  ratio ours/spacepackets, encode: {enc:5.2f}x  (ground encode_tm; target >= {TARGET_RATIO:g}x: "
          f"{'met' if enc >= TARGET_RATIO else 'MISSED'}; against re-packing an unchanged PusTm "
          f"{f['ground_encode'] / f['sp_pack_unchanged']:.2f}x, against a new PusTm "
          f"{f['ground_encode'] / f['sp_build_pack']:.2f}x)")
    print(f"  ratio flight writer/spacepackets, encode: {enc_flight:5.2f}x  (allocation-free, MicroPython's code; "
          "on CPython the call overhead of its checks and counters is the floor)")
    print(f"  ratio ours/spacepackets, decode: {dec:5.2f}x  (target >= {TARGET_RATIO:g}x: "
          f"{'met' if dec >= TARGET_RATIO else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
