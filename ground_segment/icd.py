"""docs/icd.md, generated from the mission database (``qsat icd``).

The interface control document is the one page an operator or a ground-system
integrator reads; every table below comes from bus/mdb.py, so it cannot drift
from what the flight software and the ground decoders do.  A test fails when the
committed docs/icd.md differs from what this module generates.
"""

import struct
from pathlib import Path

from bus import mdb

ICD_PATH = Path(__file__).resolve().parent.parent / "docs" / "icd.md"

_SIZES = {t: struct.calcsize(">" + f) for t, f in mdb.TYPE_FORMATS.items()}


def _calib(c) -> str:
    if c is None:
        return ""
    if c[0] == "lin":
        return f"{c[3]} = raw x {c[1]:g} {'+' if c[2] >= 0 else '-'} {abs(c[2]):g}"
    return ", ".join(f"{raw}={text}" for raw, text in c[1])


def _limits(lim) -> str:
    if lim is None:
        return ""
    return f"red < {lim[0]}, yellow < {lim[1]}; yellow > {lim[2]}, red > {lim[3]}"


def _hex(v: int, width: int = 3) -> str:
    return f"0x{v:0{width}X}"


def hazard_text(decl) -> str:
    """A command's hazard declaration (bus.mdb COMMANDS field 6) in words: no, yes, or when."""
    if decl is True:
        return "yes"
    if not decl:
        return "no"
    words = []
    for cond in decl:
        if cond[0] == mdb.HAZ_STATE:
            words.append(cond[2])
        elif cond[1] == cond[2]:
            words.append(f"{cond[0]}={_hex(cond[1], 4) if cond[0] == 'pid' else cond[1]}")
        else:
            words.append(f"{cond[0]} {cond[1]}..{cond[2]}")
    return "when " + " and ".join(words)


def generate() -> str:
    out = []
    w = out.append
    w("# Interface control document")
    w("")
    w("Generated from `bus/mdb.py` by `qsat icd`; do not edit by hand (a test compares this file with the")
    w("generator's output).")
    w("")
    w("## Space link")
    w("")
    w("| item | value |")
    w("|---|---|")
    w(f"| spacecraft ID (TC and TM, 10 bits) | {_hex(mdb.SPACECRAFT_ID)} (emulation only, not SANA-assigned) |")
    w(f"| TM transfer frame length (CCSDS 132.0-B) | {mdb.TM_FRAME_LEN} octets, fixed: 6 header + data + 4 OCF (CLCW) + 2 FECF |")
    w(f"| TC transfer frame maximum length (CCSDS 232.0-B) | {mdb.TC_FRAME_MAX_LEN} octets, with segment header and FECF |")
    w(f"| TC packet maximum length | {mdb.TC_PACKET_MAX_LEN} octets (one unsegmented packet per frame) |")
    w("| TC authentication (SDLS style, docs/security.md) | Type-AD/BD frames: security header (SPI u16, anti-replay "
      "sequence number u32) after the segment header, MAC trailer (16 octets: HMAC-SHA256 over primary header, "
      "segment header, security header and data) before the FECF; Type-BC frames unsecured |")
    w(f"| TC virtual channel | {mdb.TC_VCID}, COP-1 (FARM-1 window {mdb.FARM_WINDOW}) |")
    w(f"| TM virtual channel {mdb.VC_REALTIME} | real time: housekeeping, events, verification, reports |")
    w(f"| TM virtual channel {mdb.VC_PLAYBACK} | stored playback (packet store) |")
    w(f"| TM virtual channel {mdb.VC_IDLE} | idle frames (first header pointer 0x7FE) |")
    w("| attached sync marker (TM byte streams) | 0x1ACFFC1D |")
    w("| uplink coding | CLTU: start 0xEB90, BCH(63,56) code blocks, tail C5C5C5C5C5C5C579 |")
    w("| packet error control | CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) on every TC and TM packet and frame |")
    w(f"| time code | CDS short with P-field 0x40: 16-bit day, 32-bit ms of day; epoch {mdb.TIME_EPOCH} |")
    w("")
    w("## Ports (loopback by default, configurable)")
    w("")
    w("| port | protocol | use |")
    w("|---|---|---|")
    w(f"| {mdb.PORT_LAB} | UDP | lab port: raw space packets, one per datagram, both ways; TM goes to every address heard from in the last 10 minutes; can be switched off |")
    w(f"| {mdb.PORT_SPACE_TC} | UDP | space link uplink: CLTUs or bare TC frames |")
    w(f"| {mdb.PORT_SPACE_TM} | UDP | space link downlink: TM frames to the ground station service |")
    w(f"| {mdb.PORT_GROUND_OPS} | TCP | operator tools to `qsat ground` (JSON lines) |")
    w("")
    w("## Applications (APIDs)")
    w("")
    w("| APID | name | role |")
    w("|---|---|---|")
    for apid, name, desc in mdb.APPLICATIONS:
        w(f"| {_hex(apid)} | {name} | {desc} |")
    w(f"| {_hex(mdb.APID_IDLE)} | idle | idle packets |")
    w("")
    w("## Packet headers")
    w("")
    w("- Space packet primary header (6 octets, CCSDS 133.0-B-2): version 000, type (0 TM, 1 TC), secondary")
    w("  header flag 1, APID (11 bits), sequence flags 11, sequence count (14 bits), data length - 1.")
    w("- PUS-C TC secondary header (5 octets): PUS version 2 (4 bits), acknowledgement flags (4 bits:")
    w("  0b0001 acceptance, 0b0010 start, 0b0100 progress, 0b1000 completion), service, subtype,")
    w("  source ID (16 bits). Then application data, then the 16-bit CRC.")
    w("- PUS-C TM secondary header (7 octets + time): PUS version 2 (4 bits), time reference status (4 bits),")
    w("  service, subtype, message type counter (16 bits), destination ID (16 bits), then the 7-octet CDS")
    w("  time stamp. Then source data, then the 16-bit CRC.")
    w("")
    w("## Housekeeping packets (TM[3,25])")
    w("")
    for sid, apid, name, interval, params in mdb.HOUSEKEEPING:
        w(f"### {name}: SID {sid}, APID {_hex(apid)}, every {interval} s by default")
        w("")
        w("| offset | parameter | ID | type | unit | calibration | limits | description |")
        w("|---|---|---|---|---|---|---|---|")
        w("| 0 | sid | | u16 | | | | structure ID |")
        off = 2
        for pname in params:
            p = mdb.parameter(pname)
            w(f"| {off} | {p[1]} | {_hex(p[0], 4)} | {p[2]} | {p[3]} | {_calib(p[5])} | {_limits(p[6])} | {p[8]} |")
            off += _SIZES[p[2]]
        w("")
    w("## Parameters settable by service 20")
    w("")
    w("| ID | name | type | unit | range |")
    w("|---|---|---|---|---|")
    for p in mdb.PARAMETERS:
        if p[7] is not None:
            w(f"| {_hex(p[0], 4)} | {p[1]} | {p[2]} | {p[3]} | {p[7][0]} .. {p[7][1]} |")
    w("")
    w("## Telecommands")
    w("")
    w("Application data of TC[8,1] starts with the function ID (u8). Arguments are big-endian, in order.")
    w("")
    w("| name | APID | service | function | arguments (type, range) | hazardous | description |")
    w("|---|---|---|---|---|---|---|")
    for name, apid, svc, sub, fid, args, hazardous, desc in mdb.COMMANDS:
        if args is None:
            a = "see below"
        else:
            a = "; ".join(f"{n} {t} {lo}..{hi}{(' ' + u) if u else ''}" for n, t, lo, hi, u in args) or "none"
        w(f"| {name} | {_hex(apid)} | {svc},{sub} | {'' if fid is None else fid} | {a} | "
          f"{hazard_text(hazardous)} | {desc} |")
    w("")
    w("Variable layouts:")
    w("")
    w("- TC[11,4] SCHED_INSERT: N (u8), then N times: release time (CDS short, 7 octets with P-field) and a")
    w("  complete TC packet (its own primary header gives its length, at most "
      f"{mdb.SCHEDULE_SLOT_LEN} octets). The payload holds")
    w(f"  {mdb.SCHEDULE_MAX_ACTIVITIES} activities at once; an insert is refused whole (SCHEDULE_FULL) if they "
      "would not all fit.")
    w("  A TC[11,4] that embeds a hazardous command is hazardous itself: arm it (HAZ_ARM); its hazardous")
    w("  activities then run at release on the authority of that armed insert.")
    w("- Hazardous commands (column \"hazardous\": when the declaration's conditions all hold) run only after")
    w("  HAZ_ARM naming exactly them (APID, service, subtype, function ID or 0, CRC-16/CCITT-FALSE of the")
    w("  application data) within hazard_arm_timeout_s; otherwise the acceptance fails with NOT_ARMED")
    w("  (docs/hazardous_commands.md).")
    w("- TM[11,10] schedule detail report: N (u8), then N times: release time (7 octets) and the TC packet.")
    w("- TM[20,2] parameter report: N (u8) = 1, parameter ID (u16), value in the parameter's own type.")
    w("- TM[17,2] are-you-alive report: no data.")
    w("- TM[1,1], [1,3], [1,7] success: request ID = packet ID (u16: version, type, flag, APID) and packet")
    w("  sequence control (u16). TM[1,5] progress: request ID, step (u16). TM[1,2], [1,4], [1,6], [1,8]")
    w("  failure: request ID, failure code (u16), failure parameter (u8): the 0-based index of the command")
    w("  argument at fault, 0xFF when no single argument is. Failure reports are always sent; success")
    w("  reports only when the request's acknowledgement flag asks for them.")
    w("")
    w("## Verification failure codes")
    w("")
    w("| code | name | meaning |")
    w("|---|---|---|")
    for code, name, text in _failure_table():
        w(f"| {_hex(code, 4)} | {name} | {text} |")
    w("")
    w("## Events (TM[5,severity]: event ID u16, then the arguments)")
    w("")
    w("| ID | name | severity | APID | arguments | meaning |")
    w("|---|---|---|---|---|---|")
    sev = {1: "1 informative", 2: "2 low", 3: "3 medium", 4: "4 high"}
    for eid, name, s, apid, args, text in mdb.EVENTS:
        a = "; ".join(f"{n} {t}" for n, t in args) or "none"
        w(f"| {_hex(eid, 4)} | {name} | {sev[s]} | {_hex(apid)} | {a} | {text} |")
    w("")
    return "\n".join(out)


def _failure_table():
    """Packet-level codes from bus.pus (when present) and service-level ones from the database."""
    rows = []
    try:
        from bus import pus

        for code, (name, text) in sorted(pus.FAILURES.items()):
            rows.append((code, name, text))
    except (ImportError, AttributeError):
        pass
    rows.extend(mdb.FAILURES)
    return rows


def write(path: Path = ICD_PATH) -> Path:
    path.write_text(generate())
    return path
