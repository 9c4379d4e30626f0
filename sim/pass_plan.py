"""The telecommands that operate a pass, as the ground would send them (times from the run's start).

For each beam: the ephemeris (APT_EPHEM_BEGIN, APT_EPHEM_POINTS four points at
a time, APT_EPHEM_COMMIT with the table's CRC-16 computed on the ground with
crcmod), uploaded in the first seconds, covering the station's pass from
``preroll_s`` before it rises above the mask to when it sets; then APT_START
at the table's first point, so the gimbal is on the station when it rises.
The on-board time is set first (TIME_SET): the ephemeris is time-tagged.
The whole-pass issue moves these into the on-board schedule (service 11).
"""

import struct

from ground_segment.frames import crc16

CDS_UNIX_DAY = 4383  # days from 1958-01-01 (CDS epoch) to 1970-01-01
STEP_S = 2.0  # ephemeris spacing (payload/ephemeris.py: 0.5 mrad at worst between points)
MAX_POINTS = 256


def cds(t_unix: float) -> tuple[int, int]:
    """(days since 1958-01-01, ms of day) of a UNIX time."""
    ms = int(round(t_unix * 1000))
    days, ms_of_day = divmod(ms, 86_400_000)
    return CDS_UNIX_DAY + days, ms_of_day


def table_crc(points) -> int:
    """CRC-16/CCITT-FALSE of the points as the payload packs them (>iihhh each)."""
    return crc16(b"".join(struct.pack(">iihhh", *p) for p in points))


def ephemeris_commands(geometry, beam: int, t_start_s: float, t_end_s: float, t0_unix: float, t_send_s: float):
    """(t_s, name, args) for one beam's table from ``t_start_s`` to ``t_end_s`` (run time)."""
    n = min(MAX_POINTS, int((t_end_s - t_start_s) // STEP_S) + 1)
    pts = geometry.ephemeris_points(beam, t_start_s, n, STEP_S)
    days, ms = cds(t0_unix + t_start_s)
    cmds = [(t_send_s, "APT_EPHEM_BEGIN", {"beam": beam, "days": days, "ms_of_day": ms,
                                           "step_ms": int(STEP_S * 1000), "n": n})]
    for i in range(0, n, 4):
        args = {"beam": beam, "index": i}
        for k in range(4):
            p = pts[i + k] if i + k < n else pts[n - 1]  # a short last block repeats the last point
            args.update({f"a{k}_urad": p[0], f"c{k}_urad": p[1], f"paa_x{k}": p[2], f"paa_y{k}": p[3],
                         f"el{k}_cdeg": p[4]})
        cmds.append((t_send_s, "APT_EPHEM_POINTS", args))
    cmds.append((t_send_s, "APT_EPHEM_COMMIT", {"beam": beam, "crc": table_crc(pts)}))
    return cmds


def pass_commands(geometry, t0_unix: float, el_mask_deg: float = 10.0, preroll_s: float = 20.0,
                  t_upload_s: float = 1.0):
    """The pointing side of a pass: time, ephemerides, starts.  Beams whose station never rises
    above the mask in the run get nothing."""
    days, ms = cds(t0_unix)
    cmds = [(0.0, "TIME_SET", {"days": days, "ms_of_day": ms})]
    for b in range(geometry.beams):
        span = geometry.visible_span(b, el_mask_deg)
        if span is None:
            continue
        t_start = max(t_upload_s + 1.0, span[0] - preroll_s)
        t_end = min(span[1], float(geometry.t_s[-2]))
        cmds += ephemeris_commands(geometry, b, t_start, t_end, t0_unix, t_upload_s)
        cmds.append((t_start + 0.5, "APT_START", {"beam": b}))
    return cmds
