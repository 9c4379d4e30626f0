"""How the ground operates a pass: what it uploads beforehand and what the payload's schedule releases.

Times are seconds from the run's start.  The run starts with the immediate
telecommands a ground sends at an earlier contact (here, in the first second):

- ``TIME_SET`` at 0 s (everything after it is time-tagged);
- the TC[11,4] packets carrying the pass's time-tagged activities, at 0 s
  (sim/scenarios.py builds them with ground_segment/schedule.py);
- per beam, its ephemeris at ``UPLOAD_S`` (APT_EPHEM_BEGIN, APT_EPHEM_POINTS four
  points at a time, APT_EPHEM_COMMIT with the table's CRC-16 computed on the ground
  with crcmod), covering the station's pass from ``PREROLL_S`` before it rises
  above the mask to when it sets: up to 66 packets a beam, too many for the
  16-slot on-board schedule, so they go up at once.

Every operation of the pass itself is a time-tagged activity (``pass_schedule``),
released by the payload's service 11 at its time; with ``[c0, c1]`` the common
view of the two stations above the mask, which is the emission window:

==========================  =================================  ============================
release                     activity                           why
==========================  =================================  ============================
``WARMUP_S``                the scenario's source set-up, then  the source needs about 340 s
                            ``SRC_MODE mode=1`` (warm-up)       to lock and calibrate
station rise - 19.5 s       ``APT_START beam=b`` per beam       gimbal on the station as it
                                                               rises (table's first point + 0.5 s)
c0 - ``SYNC_MARGIN_S``      ``SYNC_LASER on=1``                 stations' clocks lock first
c0                          ``PARAM_SET src_auto_emit=1``       emission from READY once both
                                                               beams are in fine track
c1                          ``PARAM_SET src_auto_emit=0``,      emission ends with the window
                            ``SRC_MODE mode=0`` (OFF)
c1 + ``SYNC_MARGIN_S``      ``SYNC_LASER on=0``
c1 + ``STOP_AFTER_S``       ``APT_STOP beam=0``, ``beam=1``     beams idle after the pass
==========================  =================================  ============================

The flight software keeps its own interlocks whatever the schedule says: the
source emits only while both beams are in fine track on stations above the mask,
the beacon and sync lasers only while a beam tracks a station above it.

Hazardous commands need arming (docs/hazardous_commands.md): ``APT_START``,
``SYNC_LASER on=1`` and ``PARAM_SET src_auto_emit=1`` make the TC[11,4] that
carries them hazardous, so ``with_arms`` puts a ``HAZ_ARM`` for exactly that
insert (or for a hazardous immediate command) just before it; the payload runs
the hazardous activities at release on the authority of the armed insert.
"""

import struct

from bus import mdb

STEP_S = 2.0  # ephemeris spacing (payload/ephemeris.py: 0.5 mrad at worst between points)
MAX_POINTS = 256
UPLOAD_S = 1.0  # ephemerides sent (TIME_SET and the schedule at 0 s)
WARMUP_S = 1.0  # the source's set-up and warm-up released
PREROLL_S = 20.0  # a beam's table starts this long before its station rises above the mask ...
START_DELAY_S = 0.5  # ... and APT_START follows the table's first point by this much
SYNC_MARGIN_S = 5.0  # sync laser on this long before the window opens, off this long after it closes
STOP_AFTER_S = 10.0  # beams stopped and the source off this long after the window closes


def param_set(name, value):
    """(name, args) of the PARAM_SET that sets parameter ``name``."""
    return "PARAM_SET", {"pid": mdb.parameter(name)[0], "value": value}


def cds(t_unix: float) -> tuple[int, int]:
    """(days since 1958-01-01, ms of day) of a UNIX time."""
    from ground_segment.schedule import cds as _cds

    return _cds(t_unix)


def table_crc(points) -> int:
    """CRC-16/CCITT-FALSE of the points as the payload packs them (>iihhh each)."""
    from ground_segment.frames import crc16

    return crc16(b"".join(struct.pack(">iihhh", *p) for p in points))


def ephemeris_commands(geometry, beam: int, t_start_s: float, t_end_s: float, t0_unix: float, t_send_s: float,
                       step_s: float = STEP_S):
    """(t_s, name, args) for one beam's table from ``t_start_s`` to ``t_end_s`` (run time)."""
    n = min(MAX_POINTS, int((t_end_s - t_start_s) // step_s) + 1)
    pts = geometry.ephemeris_points(beam, t_start_s, n, step_s)
    days, ms = cds(t0_unix + t_start_s)
    cmds = [(t_send_s, "APT_EPHEM_BEGIN", {"beam": beam, "days": days, "ms_of_day": ms,
                                           "step_ms": int(step_s * 1000), "n": n})]
    for i in range(0, n, 4):
        args = {"beam": beam, "index": i}
        for k in range(4):
            p = pts[i + k] if i + k < n else pts[n - 1]  # a short last block repeats the last point
            args.update({f"a{k}_urad": p[0], f"c{k}_urad": p[1], f"paa_x{k}": p[2], f"paa_y{k}": p[3],
                         f"el{k}_cdeg": p[4]})
        cmds.append((t_send_s, "APT_EPHEM_POINTS", args))
    cmds.append((t_send_s, "APT_EPHEM_COMMIT", {"beam": beam, "crc": table_crc(pts)}))
    return cmds


def beam_tracks(geometry, el_mask_deg: float = 10.0, preroll_s: float = PREROLL_S, t_upload_s: float = UPLOAD_S):
    """Per beam whose station rises above the mask within the geometry: (beam, table start, table end)
    in run time.  The table starts ``preroll_s`` before the station rises (not before the upload)."""
    out = []
    for b in range(geometry.beams):
        span = geometry.visible_span(b, el_mask_deg)
        if span is None:
            continue
        t_start = max(t_upload_s + 1.0, span[0] - preroll_s)
        t_end = min(span[1], float(geometry.t_s[-2]))
        out.append((b, t_start, t_end))
    return out


def pass_uploads(geometry, t0_unix: float, tracks, t_upload_s: float = UPLOAD_S, step_s: float = STEP_S):
    """The immediate part: TIME_SET at 0 s, then each beam's ephemeris at ``t_upload_s``."""
    days, ms = cds(t0_unix)
    cmds = [(0.0, "TIME_SET", {"days": days, "ms_of_day": ms})]
    for b, t_start, t_end in tracks:
        cmds += ephemeris_commands(geometry, b, t_start, t_end, t0_unix, t_upload_s, step_s)
    return cmds


def pass_schedule(tracks, window_s, source_setup=(), warmup_s: float = WARMUP_S, extra=()):
    """The time-tagged activities of a pass, (t_s, name, args) in release order (the table above).

    ``tracks`` from ``beam_tracks``; ``window_s`` the emission window (c0, c1), the common
    view; ``source_setup`` (name, args) released with the warm-up, before it; ``extra``
    (t_s, name, args) activities of the scenario's own.  ValueError
    when the window opens too early for the beams to have started before the sync laser.
    """
    c0, c1 = window_s
    first_start = min((t + START_DELAY_S for _, t, _ in tracks), default=None)
    if first_start is None or first_start >= c0 - SYNC_MARGIN_S:
        raise ValueError(f"the emission window opens at {c0:g} s: too early for a beam to start before "
                         f"the sync laser ({SYNC_MARGIN_S:g} s before it)")
    acts = [(warmup_s, name, dict(args)) for name, args in source_setup]
    acts += [(t, name, dict(args)) for t, name, args in extra]
    acts.append((warmup_s, "SRC_MODE", {"mode": 1}))
    for b, t_start, _ in tracks:
        acts.append((t_start + START_DELAY_S, "APT_START", {"beam": b}))
    acts.append((c0 - SYNC_MARGIN_S, "SYNC_LASER", {"on": 1}))
    acts.append((c0, *param_set("src_auto_emit", 1)))
    acts.append((c1, *param_set("src_auto_emit", 0)))
    acts.append((c1, "SRC_MODE", {"mode": 0}))
    acts.append((c1 + SYNC_MARGIN_S, "SYNC_LASER", {"on": 0}))
    for b, _, _ in tracks:
        acts.append((c1 + STOP_AFTER_S, "APT_STOP", {"beam": b}))
    return sorted(acts, key=lambda a: a[0])


def with_arms(uplink):
    """``uplink`` ((t_s, name, args) immediate commands) with a HAZ_ARM for exactly each hazardous one
    just before it, at the same time: the payload refuses a hazardous command it was not armed for."""
    from ground_segment.commanding import arm_args, hazard_reason

    out = []
    for t, name, args in uplink:
        if hazard_reason(name, args) is not None:
            out.append((t, "HAZ_ARM", arm_args(name, args)))
        out.append((t, name, args))
    return out


def arms_needed(uplink) -> int:
    """How many HAZ_ARM ``with_arms`` adds to ``uplink``."""
    return len(with_arms(uplink)) - len(uplink)
