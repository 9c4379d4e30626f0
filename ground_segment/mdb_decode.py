"""Telemetry decoders generated from the mission database (bus/mdb.py): TM packets to calibrated values.

Three layers, all built at import from the same declarations:

1. **construct declarations** (the ground's truth, one per layout): ``hk_struct(sid)``
   for every housekeeping packet (TM[3,25]: SID then the parameters in declaration
   order), ``event_struct(event_id)`` for every event report (TM[5,severity]: event
   ID then its auxiliary data), ``VERIFICATION_STRUCTS`` (TM[1,1..8]: request ID,
   i.e. packet ID u16 and sequence control u16, then on failures the failure
   code u16 and the index u8 of the argument at fault, 0xFF for none, and on
   progress success the step u16), ``VERIFICATION_FAILURE_SHORT`` (the 6-octet
   failure report of earlier flight software: no argument index),
   ``PARAMETER_REPORT`` (TM[20,2]: n u8, then n times pid u16 and the value in
   the parameter's type),
   ``ALIVE_REPORT`` (TM[17,2], empty), ``TIME_REPORT`` (TM[9,3]: rate exponent u8
   and a CDS short time) and ``SCHEDULE_REPORT`` (TM[11,10]: n u8, then n times a
   CDS short release time and a TC packet whose length comes from its header).
2. **the fast path**: ``struct`` formats derived from those declarations
   (``flat_format`` walks a declaration's fields; tests check the result against
   ``bus.mdb.hk_format`` and ``args_format``).  A compiled construct Struct
   parses a housekeeping packet in about 7 us, ``struct`` in about 0.25 us, so
   ``Decoder`` uses ``struct`` unless asked for construct (``Decoder(fast=False)``);
   tests prove both give the same records for every packet, good or bad.
3. **bulk**: ``decode_frames`` turns an archived TM frame stream into
   calibrated columns: frames checked and split into per-VC runs with numpy,
   packets walked once, housekeeping packets of each SID gathered and parsed
   by a numpy structured dtype (``hk_dtype``, from the same formats) and
   calibrated vectorised.  ``decode_frames(..., method="reader")`` does the same
   job with ``bus.tm_frame.TmFrameReader`` and ``Decoder``; tests prove equal.

Records (NamedTuples; ``t_unix`` is the packet time in UNIX seconds, from the CDS
time of the packet: days since 1958-01-01 and ms of day, the UNIX epoch being
4383 days later): ``Sample`` (one calibrated parameter value: TM[3,25] gives one
per parameter, TM[20,2] one per reported parameter), ``Event``,
``Verification``, ``TimeReport``, ``ScheduleReport``, ``AliveReport``.

A packet the database does not describe (unknown APID, service, SID, event,
parameter) raises ``UnknownPacket``; one it describes but that does not match
the declaration (wrong length, bad constant, bad CRC) raises
``MalformedPacket``; both are ``DecodeError`` (a ``ValueError``) with a short
``reason`` to count by.  Nothing else escapes the decoders.
"""

from __future__ import annotations

import struct
from collections import Counter
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from construct import (
    Array, Bytes, Const, ConstError, ConstructError, Error, ExplicitError, Float32b, FormatField, Int8sb, Int8ub,
    Int16sb, Int16ub, Int32sb, Int32ub, RawCopy, Renamed, Struct, Switch, Terminated, this,
)

from bus import mdb, pus
from bus.cds_time import P_FIELD
from ground_segment import packets

__all__ = [
    "ALIVE_REPORT", "AliveReport", "BulkDecode", "CDS_UNIX_EPOCH_DAYS", "Column", "DecodeError", "Decoder",
    "Event", "MalformedPacket", "PARAMETER_REPORT", "SCHEDULE_REPORT", "STAGES", "Sample", "ScheduleReport",
    "ScheduledCommand", "TIME_REPORT", "TimeReport", "UnknownPacket", "VERIFICATION_FAILURE_SHORT",
    "VERIFICATION_STRUCTS", "Verification",
    "calibrate", "cds_to_unix", "command_name_of", "decode_bytes", "decode_frames", "decode_packet",
    "event_struct", "failure_of", "flat_format", "hk_dtype", "hk_format", "hk_struct",
]

CDS_UNIX_EPOCH_DAYS = 4383  # 1970-01-01 is day 4383 of the CCSDS epoch 1958-01-01
CONSTRUCT_TYPES = {"u8": Int8ub, "i8": Int8sb, "u16": Int16ub, "i16": Int16sb, "u32": Int32ub, "i32": Int32sb,
                   "f32": Float32b}
STAGES = {1: "acceptance", 3: "start", 5: "progress", 7: "completion"}  # success subtype -> stage name
_APIDS = frozenset(a[0] for a in mdb.APPLICATIONS)


def cds_to_unix(days: int, ms_of_day: int) -> float:
    """UNIX seconds of a CDS (1958 epoch) day and millisecond of day."""
    return (days - CDS_UNIX_EPOCH_DAYS) * 86400.0 + ms_of_day / 1000.0


# --- errors ---------------------------------------------------------------------------

class DecodeError(ValueError):
    """A TM packet the decoders cannot turn into records; ``reason`` is a short word to count by."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason + (": " + detail if detail else ""))
        self.reason = reason


class UnknownPacket(DecodeError):
    """The mission database declares no such APID, service/subtype, SID, event or parameter."""


class MalformedPacket(DecodeError):
    """The packet does not match its declaration (length, constant, CRC, header)."""

    def __init__(self, reason: str, detail: str = "", code: int | None = None):
        super().__init__(reason, detail)
        self.code = code  # bus.pus failure code when the packet layer rejected it


# --- records --------------------------------------------------------------------------

class Sample(NamedTuple):
    """One calibrated parameter value."""

    name: str
    raw: int | float
    eng: int | float | str  # calibrated: raw * scale + offset, the enumeration's text, or raw
    unit: str  # engineering unit
    t_unix: float  # packet time, UNIX seconds
    apid: int
    days: int  # packet time, CDS
    ms_of_day: int


class Event(NamedTuple):
    event_id: int
    name: str
    severity: int  # 1 informative, 2 low, 3 medium, 4 high
    apid: int
    args: dict
    text: str
    t_unix: float
    days: int
    ms_of_day: int


class Verification(NamedTuple):
    """A TM[1,x] report on the request ``(apid, seq_count)``."""

    apid: int  # the request's APID (from its request ID)
    seq_count: int  # the request's sequence count
    stage: str  # acceptance, start, progress, completion
    success: bool
    code: int | None  # failure code (None on success)
    failure: str | None  # the failure code's name, e.g. "UNKNOWN_SID"
    reason: str | None  # the failure code in words (``commanding.failure_reason`` adds the command's limits)
    step: int | None  # progress step (progress success reports)
    report_apid: int  # APID the report came from
    t_unix: float
    days: int
    ms_of_day: int
    arg_index: int | None = None  # failures: 0-based index of the command argument at fault, None for none


class TimeReport(NamedTuple):
    """TM[9,3]: on-board time."""

    apid: int
    exponent: int  # report every 2**exponent s
    days: int
    ms_of_day: int
    t_unix: float  # the reported time
    packet_t_unix: float


class ScheduledCommand(NamedTuple):
    days: int  # release time
    ms_of_day: int
    t_unix: float
    name: str | None  # the command's name in the mission database (None: not declared)
    apid: int
    seq_count: int
    service: int
    subtype: int
    packet: bytes  # the whole TC packet


class ScheduleReport(NamedTuple):
    """TM[11,10]: time-tagged commands waiting on board."""

    apid: int
    activities: tuple
    t_unix: float


class AliveReport(NamedTuple):
    """TM[17,2]: are-you-alive answer."""

    apid: int
    t_unix: float


# --- calibration ----------------------------------------------------------------------

def _calibrator(calib):
    if calib is None:
        return None
    if calib[0] == "lin":
        scale, offset = calib[1], calib[2]
        return lambda raw: raw * scale + offset
    if calib[0] == "enum":
        table = dict(calib[1])
        return lambda raw: table.get(raw, "UNKNOWN(%r)" % (raw,))
    raise ValueError("unknown calibration %r" % (calib,))


def _eng_unit(p) -> str:
    calib = p[5]
    return calib[3] if calib is not None and calib[0] == "lin" else p[3]


_PARAM = {p[1]: p for p in mdb.PARAMETERS}
_PARAM_BY_ID = {p[0]: p for p in mdb.PARAMETERS}
_CAL = {p[1]: _calibrator(p[5]) for p in mdb.PARAMETERS}
_UNIT = {p[1]: _eng_unit(p) for p in mdb.PARAMETERS}


def calibrate(name: str, raw):
    """Engineering value of parameter ``name`` for ``raw`` (lin: raw*scale+offset, enum: text, else raw)."""
    f = _CAL[name]
    return raw if f is None else f(raw)


def failure_of(code: int) -> tuple[str, str]:
    """(name, text) of a verification failure code (bus.pus packet-level codes, bus.mdb FAILURES)."""
    if code in pus.FAILURES:
        return pus.FAILURES[code]
    for c, name, text in mdb.FAILURES:
        if c == code:
            return name, text
    return "UNKNOWN_CODE", "unknown failure code %d (0x%04X)" % (code, code)


def command_name_of(apid: int, service: int, subtype: int, app_data: bytes = b"") -> str | None:
    """The mission database's name of a TC (function ID for TC[8,1]), or None."""
    fid = app_data[0] if app_data else None
    for c in mdb.COMMANDS:
        if c[1] == apid and c[2] == service and c[3] == subtype and (c[4] is None or c[4] == fid):
            return c[0]
    return None


# --- construct declarations, from the database -------------------------------------------

def _field(name: str, typ: str):
    return name / CONSTRUCT_TYPES[typ]


@lru_cache(maxsize=None)
def hk_struct(sid: int) -> Struct:
    """The source data of housekeeping packet ``sid`` (TM[3,25]): SID, then its parameters."""
    e = _HK[sid]
    return Struct("sid" / Const(sid, Int16ub), *[_field(n, _PARAM[n][2]) for n in e[4]], Terminated)


@lru_cache(maxsize=None)
def event_struct(event_id: int) -> Struct:
    """The source data of an event report (TM[5,x]): event ID, then its auxiliary data."""
    e = _EVENTS[event_id]
    return Struct("event_id" / Const(event_id, Int16ub), *[_field(a[0], a[1]) for a in e[4]], Terminated)


def _verification_struct(subtype: int, arg_index: bool = True) -> Struct:
    fields = ["packet_id" / Int16ub, "seq_ctrl" / Int16ub]
    if subtype % 2 == 0:
        fields.append("failure_code" / Int16ub)
        if arg_index:
            fields.append("arg_index" / Int8ub)  # bus.pus.NO_ARGUMENT: no single argument at fault
    elif subtype == 5:
        fields.append("step" / Int16ub)
    return Struct(*fields, Terminated)


VERIFICATION_STRUCTS = {st: _verification_struct(st) for st in range(1, 9)}
VERIFICATION_FAILURE_SHORT = _verification_struct(2, arg_index=False)  # 6 octets: no argument index

PARAMETER_REPORT = Struct(  # TM[20,2]
    "n" / Int8ub,
    "parameters" / Array(this.n, Struct(
        "pid" / Int16ub,
        "value" / Switch(this.pid, {p[0]: CONSTRUCT_TYPES[p[2]] for p in mdb.PARAMETERS}, default=Error),
    )),
    Terminated,
)

ALIVE_REPORT = Struct(Terminated)  # TM[17,2]

TIME_REPORT = Struct(  # TM[9,3]
    "exponent" / Int8ub,
    "time" / packets.CdsShortTime,
    Terminated,
)

SCHEDULE_REPORT = Struct(  # TM[11,10]
    "n" / Int8ub,
    "activities" / Array(this.n, Struct(
        "release" / packets.CdsShortTime,
        "tc" / RawCopy(Struct(  # a whole TC packet: its length comes from its primary header
            "packet_id_seq" / Bytes(4),
            "data_len" / Int16ub,
            "data" / Bytes(this.data_len + 1),
        )),
    )),
    Terminated,
)

_HK = {e[0]: e for e in mdb.HOUSEKEEPING}
_EVENTS = {e[0]: e for e in mdb.EVENTS}


_STD_CODE = {"L": "I", "l": "i"}  # construct spells 32-bit integers L/l, bus.mdb.TYPE_FORMATS I/i (same size)


def flat_format(s: Struct) -> tuple[str, list[str], dict[int, Any]]:
    """``struct`` format, field names and constants ``{index: value}`` of a fixed-size declaration.

    Walks the Struct's fields (nested Structs flattened, ``Const`` kept as a
    field to check, ``Terminated`` contributing nothing); raises ValueError for a
    field of variable size.  The fast decoders are generated from this.
    """
    fmt, names, consts = [], [], {}

    def walk(sub, name):
        if isinstance(sub, Renamed):
            walk(sub.subcon, sub.name if name is None else name + "." + sub.name)
        elif isinstance(sub, Const):
            consts[len(names)] = sub.value
            walk(sub.subcon, name)
        elif isinstance(sub, FormatField):
            if sub.fmtstr[0] != ">":
                raise ValueError("%s: not big-endian" % name)
            fmt.append(_STD_CODE.get(sub.fmtstr[1:], sub.fmtstr[1:]))
            names.append(name)
        elif isinstance(sub, Struct):
            for s2 in sub.subcons:
                walk(s2, name)
        elif sub is Terminated:
            pass
        else:
            raise ValueError("%s: %r has no fixed struct format" % (name, sub))

    walk(s, None)
    return ">" + "".join(fmt), names, consts


def hk_format(sid: int) -> str:
    """``struct`` format of housekeeping packet ``sid``'s source data (SID included)."""
    return _HK_PLAN[sid].struct.format


# --- fast path: plans generated from the declarations -------------------------------------

class _HkPlan:
    __slots__ = ("sid", "apid", "name", "struct", "size", "params", "units", "cals", "decl")

    def __init__(self, e):
        self.sid, self.apid, self.name = e[0], e[1], e[2]
        fmt, names, consts = flat_format(hk_struct(self.sid))
        assert names[0] == "sid" and consts == {0: self.sid} and tuple(names[1:]) == e[4]
        self.struct = struct.Struct(fmt)
        self.size = self.struct.size
        self.params = e[4]
        self.units = tuple(_UNIT[n] for n in e[4])
        self.cals = tuple(_CAL[n] for n in e[4])
        self.decl = e


class _EventPlan:
    __slots__ = ("id", "name", "severity", "apid", "struct", "args", "text")

    def __init__(self, e):
        self.id, self.name, self.severity, self.apid = e[0], e[1], e[2], e[3]
        fmt, names, consts = flat_format(event_struct(self.id))
        assert names[0] == "event_id" and consts == {0: self.id}
        self.struct = struct.Struct(fmt)
        self.args = tuple(names[1:])
        self.text = e[5]


_HK_PLAN = {sid: _HkPlan(e) for sid, e in _HK.items()}
_EVENT_PLAN = {eid: _EventPlan(e) for eid, e in _EVENTS.items()}
_VERIF_FMT = {st: struct.Struct(flat_format(s)[0]) for st, s in VERIFICATION_STRUCTS.items()}
_VERIF_SHORT_FMT = struct.Struct(flat_format(VERIFICATION_FAILURE_SHORT)[0])
_TIME_FMT = struct.Struct(flat_format(TIME_REPORT)[0])  # exponent, P-field, days, ms
_VALUE_FMT = {p[0]: struct.Struct(">" + mdb.TYPE_FORMATS[p[2]]) for p in mdb.PARAMETERS}
_CDS = struct.Struct(">BHI")
_PKT_LEN = struct.Struct(">4xH")
_EMPTY = struct.Struct(">")
_HK_KEY = struct.Struct(">H2xHxBB11xH")  # packet ID, data length, service, subtype, first u16 of source data


def hk_dtype(sid: int) -> np.dtype:
    """numpy structured dtype of a whole TM[3,25] packet of ``sid``: headers, SID, parameters, CRC.

    Field names: the header fields of ``packets._TM_HEAD`` (``packet_id``,
    ``seq_ctrl``, ``data_len``, ``pus``, ``service``, ``subtype``, ``msg_count``,
    ``dest_id``, ``p_field``, ``days``, ``ms_of_day``), then ``sid``, the
    parameter names and ``crc``; built from the same ``struct`` formats.
    """
    return _hk_dtype(sid)


_HEAD_NAMES = ("packet_id", "seq_ctrl", "data_len", "pus", "service", "subtype", "msg_count", "dest_id",
               "p_field", "days", "ms_of_day")
_NP_CODES = {"B": "u1", "b": "i1", "H": ">u2", "h": ">i2", "I": ">u4", "i": ">i4", "f": ">f4"}


@lru_cache(maxsize=None)
def _hk_dtype(sid):
    plan = _HK_PLAN[sid]
    fmt = packets._TM_HEAD.format.lstrip(">") + plan.struct.format.lstrip(">") + "H"
    names = _HEAD_NAMES + ("sid",) + plan.params + ("crc",)
    formats, offsets, off = [], [], 0
    for ch in fmt:
        formats.append(_NP_CODES[ch])
        offsets.append(off)
        off += struct.calcsize(">" + ch)
    assert len(names) == len(formats) and off == pus.TM_MIN_LEN + plan.size
    return np.dtype({"names": list(names), "formats": formats, "offsets": offsets, "itemsize": off})


# --- the decoder --------------------------------------------------------------------------

def _request(packet_id, seq_ctrl):
    return packet_id & 0x7FF, seq_ctrl & 0x3FFF


class Decoder:
    """Turns decoded TM packets into records.

    ``decode(pkt)`` takes a ``bus.pus.TmPacket``, a ``ground_segment.packets.TmPacket``
    (anything with apid, service, subtype, days, ms_of_day, app_data) or the
    packet's bytes (checked by ``packets.decode_tm`` first), and returns a list
    of records; it raises ``UnknownPacket`` or ``MalformedPacket``, counted in
    ``errors`` (reason -> count); ``decoded`` counts packets decoded.
    ``fast`` False parses with the construct declarations instead of ``struct``
    (same records; about 4x slower per housekeeping packet, building the
    records included).
    """

    def __init__(self, fast: bool = True):
        self.fast = fast
        self.decoded = 0
        self.errors: Counter = Counter()
        self._service = {
            (3, 25): self._hk, (17, 2): self._alive, (20, 2): self._param_report, (9, 3): self._time_report,
            (11, 10): self._schedule_report,
        }
        for sev in (1, 2, 3, 4):
            self._service[(5, sev)] = self._event
        for st in range(1, 9):
            self._service[(1, st)] = self._verification

    def decode(self, pkt) -> list:
        try:
            if isinstance(pkt, (bytes, bytearray, memoryview)):
                try:
                    pkt = packets.decode_tm(bytes(pkt))
                except pus.PusError as e:
                    raise MalformedPacket(pus.FAILURES.get(e.code, ("BAD_PACKET",))[0].lower(), str(e),
                                          e.code) from None
            if pkt.apid not in _APIDS:
                raise UnknownPacket("unknown_apid", "APID 0x%03X" % pkt.apid)
            handler = self._service.get((pkt.service, pkt.subtype))
            if handler is None:
                raise UnknownPacket("unknown_service", "TM[%d,%d]" % (pkt.service, pkt.subtype))
            t = cds_to_unix(pkt.days, pkt.ms_of_day)
            out = handler(pkt, bytes(pkt.app_data), t)
        except DecodeError as e:
            self.errors[e.reason] += 1
            raise
        self.decoded += 1
        return out

    # -- parsing: struct (fast) or construct ------------------------------------------------
    def _parse(self, fmt: struct.Struct, decl: Struct, data: bytes, what: str) -> tuple:
        if self.fast:
            if len(data) != fmt.size:
                raise MalformedPacket("wrong_length", "%s: %d octets, declared %d" % (what, len(data), fmt.size))
            return fmt.unpack(data)
        return tuple(_flat_values(_construct_parse(decl, data, what)))

    # -- services ---------------------------------------------------------------------------
    def _hk(self, pkt, data, t):
        if len(data) < 2:
            raise MalformedPacket("wrong_length", "TM[3,25] without a SID")
        sid = (data[0] << 8) | data[1]
        plan = _HK_PLAN.get(sid)
        if plan is None:
            raise UnknownPacket("unknown_sid", "SID %d" % sid)
        if plan.apid != pkt.apid:
            raise UnknownPacket("unknown_sid", "SID %d is not APID 0x%03X's" % (sid, pkt.apid))
        values = self._parse(plan.struct, hk_struct(sid), data, plan.name)
        apid, days, ms = pkt.apid, pkt.days, pkt.ms_of_day
        return [Sample(name, raw, raw if cal is None else cal(raw), unit, t, apid, days, ms)
                for name, raw, unit, cal in zip(plan.params, values[1:], plan.units, plan.cals)]

    def _event(self, pkt, data, t):
        if len(data) < 2:
            raise MalformedPacket("wrong_length", "TM[5,%d] without an event ID" % pkt.subtype)
        eid = (data[0] << 8) | data[1]
        plan = _EVENT_PLAN.get(eid)
        if plan is None:
            raise UnknownPacket("unknown_event", "event 0x%04X" % eid)
        if plan.apid != pkt.apid:
            raise UnknownPacket("unknown_event", "event %s is not APID 0x%03X's" % (plan.name, pkt.apid))
        if plan.severity != pkt.subtype:
            raise MalformedPacket("wrong_severity", "event %s reported as TM[5,%d], declared severity %d"
                                  % (plan.name, pkt.subtype, plan.severity))
        values = self._parse(plan.struct, event_struct(eid), data, plan.name)
        return [Event(eid, plan.name, plan.severity, pkt.apid, dict(zip(plan.args, values[1:])), plan.text, t,
                      pkt.days, pkt.ms_of_day)]

    def _verification(self, pkt, data, t):
        st = pkt.subtype
        success = st % 2 == 1
        if not success and len(data) == _VERIF_SHORT_FMT.size:  # earlier flight software: no argument index
            values = self._parse(_VERIF_SHORT_FMT, VERIFICATION_FAILURE_SHORT, data, "TM[1,%d]" % st)
        else:
            values = self._parse(_VERIF_FMT[st], VERIFICATION_STRUCTS[st], data, "TM[1,%d]" % st)
        apid, seq = _request(values[0], values[1])
        code = failure = reason = step = arg_index = None
        if not success:
            code = values[2]
            failure, reason = failure_of(code)
            if len(values) > 3 and values[3] != pus.NO_ARGUMENT:
                arg_index = values[3]
        elif st == 5:
            step = values[2]
        return [Verification(apid, seq, STAGES[st - (0 if success else 1)], success, code, failure, reason, step,
                             pkt.apid, t, pkt.days, pkt.ms_of_day, arg_index)]

    def _alive(self, pkt, data, t):
        self._parse(_EMPTY, ALIVE_REPORT, data, "TM[17,2]")
        return [AliveReport(pkt.apid, t)]

    def _time_report(self, pkt, data, t):
        if self.fast and len(data) >= 2 and data[1] != P_FIELD:
            raise MalformedPacket("bad_field", "TM[9,3]: P-field 0x%02X" % data[1])
        exponent, pf, days, ms = self._parse(_TIME_FMT, TIME_REPORT, data, "TM[9,3]")
        return [TimeReport(pkt.apid, exponent, days, ms, cds_to_unix(days, ms), t)]

    def _param_report(self, pkt, data, t):
        if self.fast:
            items = self._param_items_fast(data)
        else:
            c = _construct_parse(PARAMETER_REPORT, data, "TM[20,2]")
            items = [(p.pid, p.value) for p in c.parameters]
        out = []
        for pid, raw in items:
            p = _PARAM_BY_ID[pid]
            name = p[1]
            out.append(Sample(name, raw, calibrate(name, raw), _UNIT[name], t, pkt.apid, pkt.days, pkt.ms_of_day))
        return out

    @staticmethod
    def _param_items_fast(data):
        n = len(data)
        if n < 1:
            raise MalformedPacket("wrong_length", "TM[20,2]: empty")
        count = data[0]
        pos = 1
        items = []
        for _ in range(count):
            if n - pos < 2:
                raise MalformedPacket("wrong_length", "TM[20,2]: truncated")
            pid = (data[pos] << 8) | data[pos + 1]
            fmt = _VALUE_FMT.get(pid)
            if fmt is None:
                raise UnknownPacket("unknown_parameter", "parameter 0x%04X" % pid)
            pos += 2
            if n - pos < fmt.size:
                raise MalformedPacket("wrong_length", "TM[20,2]: truncated")
            items.append((pid, fmt.unpack_from(data, pos)[0]))
            pos += fmt.size
        if pos != n:
            raise MalformedPacket("wrong_length", "TM[20,2]: %d octets beyond the parameters" % (n - pos))
        return items

    def _schedule_report(self, pkt, data, t):
        if self.fast:
            acts = self._schedule_items_fast(data)
        else:
            c = _construct_parse(SCHEDULE_REPORT, data, "TM[11,10]")
            acts = [(a.release.days, a.release.ms_of_day, bytes(a.tc.data)) for a in c.activities]
        out = []
        for days, ms, tc in acts:
            apid = ((tc[0] & 0x07) << 8) | tc[1]
            service = tc[7] if len(tc) > 8 else 0
            subtype = tc[8] if len(tc) > 8 else 0
            name = command_name_of(apid, service, subtype, tc[11:-2]) if len(tc) > 8 else None
            out.append(ScheduledCommand(days, ms, cds_to_unix(days, ms), name, apid,
                                        ((tc[2] & 0x3F) << 8) | tc[3], service, subtype, tc))
        return [ScheduleReport(pkt.apid, tuple(out), t)]

    @staticmethod
    def _schedule_items_fast(data):
        n = len(data)
        if n < 1:
            raise MalformedPacket("wrong_length", "TM[11,10]: empty")
        pos = 1
        acts = []
        for _ in range(data[0]):
            if n - pos >= 1 and data[pos] != P_FIELD:
                raise MalformedPacket("bad_field", "TM[11,10]: P-field 0x%02X" % data[pos])
            if n - pos < 7 + 6:
                raise MalformedPacket("wrong_length", "TM[11,10]: truncated activity")
            pf, days, ms = _CDS.unpack_from(data, pos)
            plen = _PKT_LEN.unpack_from(data, pos + 7)[0] + 7
            if n - pos - 7 < plen:
                raise MalformedPacket("wrong_length", "TM[11,10]: truncated TC packet")
            acts.append((days, ms, bytes(data[pos + 7:pos + 7 + plen])))
            pos += 7 + plen
        if pos != n:
            raise MalformedPacket("wrong_length", "TM[11,10]: %d octets beyond the activities" % (n - pos))
        return acts


def _construct_parse(decl, data, what):
    """``decl.parse(data)`` with construct's errors turned into DecodeErrors (as the fast path raises them)."""
    try:
        return decl.parse(data)
    except ExplicitError:  # the Switch of TM[20,2] met an undeclared parameter ID
        raise UnknownPacket("unknown_parameter", "%s: parameter not declared" % what) from None
    except ConstError as e:
        raise MalformedPacket("bad_field", "%s: %s" % (what, str(e).splitlines()[0])) from None
    except ConstructError as e:
        raise MalformedPacket("wrong_length", "%s: %s" % (what, str(e).splitlines()[0])) from None


def _flat_values(c):
    """Field values of a parsed flat construct Container, in declaration order (nested flattened)."""
    for k, v in c.items():
        if k == "_io" or k.startswith("_"):
            continue
        if isinstance(v, dict):
            yield from _flat_values(v)
        else:
            yield v


_DEFAULT = Decoder()


def decode_packet(pkt) -> list:
    """Records of one TM packet (TmPacket or bytes); raises UnknownPacket / MalformedPacket."""
    return _DEFAULT.decode(pkt)


def decode_bytes(data: bytes) -> list:
    """Records of one whole TM packet given as bytes (CRC and headers checked)."""
    return _DEFAULT.decode(bytes(data))


# --- bulk: archived frame streams --------------------------------------------------------

class Column(NamedTuple):
    """One parameter's housekeeping samples, in order of arrival per virtual channel."""

    name: str
    unit: str
    t_unix: np.ndarray  # float64
    raw: np.ndarray  # the parameter's wire type
    eng: np.ndarray  # float64 (linear), str objects (enumeration) or raw
    apid: int
    days: np.ndarray
    ms_of_day: np.ndarray


class BulkDecode:
    """What ``decode_frames`` found in a stream.

    ``columns``: {parameter name: Column} from every TM[3,25] packet;
    ``records``: every other record (events, verification, TM[20,2] samples,
    time and schedule reports) in order of arrival per virtual channel;
    counters: ``frames`` (accepted), ``idle_frames``, ``bad_frames`` (length,
    version, SCID, FECF), ``vc_gaps``, ``fhp_errors``, ``packets`` (non-idle
    packets delivered), ``idle_packets``, ``hk_packets``, ``errors`` (Counter of
    DecodeError reasons), ``octets`` (stream length).
    """

    def __init__(self):
        self.columns: dict[str, Column] = {}
        self.records: list = []
        self.frames = 0
        self.idle_frames = 0
        self.bad_frames = 0
        self.vc_gaps = 0
        self.fhp_errors = 0
        self.packets = 0
        self.idle_packets = 0
        self.hk_packets = 0
        self.errors: Counter = Counter()
        self.octets = 0

    @property
    def n_samples(self) -> int:
        return sum(len(c.raw) for c in self.columns.values()) + sum(isinstance(r, Sample) for r in self.records)

    def samples(self) -> list[Sample]:
        """Every Sample: the housekeeping columns (parameter by parameter), then TM[20,2] samples."""
        out = []
        for c in self.columns.values():
            eng = c.eng.tolist()
            for raw, e, t, d, ms in zip(c.raw.tolist(), eng, c.t_unix.tolist(), c.days.tolist(),
                                        c.ms_of_day.tolist()):
                out.append(Sample(c.name, raw, e, c.unit, t, c.apid, d, ms))
        out.extend(r for r in self.records if isinstance(r, Sample))
        return out


def decode_frames(stream: bytes, frame_len: int = mdb.TM_FRAME_LEN, scid: int = mdb.SPACECRAFT_ID,
                  method: str = "numpy") -> BulkDecode:
    """Decode a stream of back-to-back fixed-length TM frames (no sync markers) to calibrated values.

    ``method`` "numpy": the vectorised path; "reader": ``bus.tm_frame.TmFrameReader``
    and ``Decoder`` packet by packet (the reference, same result, slower).
    """
    if method == "reader":
        return _decode_frames_reader(stream, frame_len, scid)
    if method != "numpy":
        raise ValueError("method %r: 'numpy' or 'reader'" % method)
    return _FrameWalker(frame_len, scid).run(stream)


def _decode_frames_reader(stream, frame_len, scid) -> BulkDecode:
    from bus.tm_frame import TmFrameReader

    out = BulkDecode()
    out.octets = len(stream)
    reader = TmFrameReader(scid, frame_len)
    per_vc: dict[int, list] = {}
    for i in range(0, len(stream), frame_len):
        for vc, pkt in reader.read(stream[i:i + frame_len]):
            per_vc.setdefault(vc, []).append(pkt)
    dec = Decoder()
    hk: dict[str, list] = {}
    for vc in sorted(per_vc):
        for pkt in per_vc[vc]:
            try:
                recs = dec.decode(pkt)
            except DecodeError as e:
                out.errors[e.reason] += 1
                continue
            if pkt[7] == 3 and pkt[8] == 25:
                out.hk_packets += 1
                for s in recs:
                    hk.setdefault(s.name, []).append(s)
            else:
                out.records.extend(recs)
    for name, ss in hk.items():
        p = _PARAM[name]
        raw = np.array([s.raw for s in ss], dtype=_NP_CODES[mdb.TYPE_FORMATS[p[2]]].lstrip(">"))
        if p[5] is not None and p[5][0] == "enum":
            eng = np.array([s.eng for s in ss], dtype=object)
        else:
            eng = np.array([s.eng for s in ss], dtype=np.float64 if p[5] is not None else raw.dtype)
        out.columns[name] = Column(name, _UNIT[name], np.array([s.t_unix for s in ss], dtype=np.float64), raw,
                                   eng, ss[0].apid, np.array([s.days for s in ss], dtype=np.int64),
                                   np.array([s.ms_of_day for s in ss], dtype=np.int64))
    out.frames = reader.frames
    out.idle_frames = reader.idle_frames
    out.bad_frames = reader.length_errors + reader.version_errors + reader.scid_errors + reader.crc_errors
    out.vc_gaps = reader.vc_gaps
    out.fhp_errors = reader.fhp_errors
    out.packets = reader.packets
    out.idle_packets = reader.idle_packets
    return out


_FHP_NO_PACKET = 0x7FF
_FHP_IDLE = 0x7FE
_IDLE_APID = 0x7FF


class _FrameWalker:
    """The vectorised frame and packet path of ``decode_frames``.

    Frames: checked with one CRC call each (crcmod's C CRC-16/CCITT-FALSE, as
    ``packets.decode_tm`` checks packets), their headers read as numpy columns.  Each virtual
    channel's accepted frames split into runs of consecutive VC frame counts
    (a gap, or a first header pointer beyond the data field, ends a run); a
    run's data fields, concatenated, hold its packets back to back, walked from
    the first frame that has a first header pointer.  Every packet start must
    agree with the first header pointer of the frame it falls in (else the
    walk resynchronises on that frame's pointer or the next one, as
    ``TmFrameReader`` does); packets spanning a run's end are dropped.  Each
    packet's CRC is checked; a TM[3,25] of a declared SID, APID and length is
    kept for its SID's numpy batch, every other packet goes to ``Decoder``.
    """

    def __init__(self, frame_len, scid):
        self.frame_len = frame_len
        self.scid = scid
        self.data_len = frame_len - 12
        self.dec = Decoder()
        # batch key of a declared TM[3,25] (_HK_KEY): packet ID word, data length, service, subtype, SID
        self.hk_keys = {(0x0800 | p.apid, pus.TM_MIN_LEN + p.size - 7, 3, 25, sid): sid
                        for sid, p in _HK_PLAN.items()}

    def run(self, stream) -> BulkDecode:
        crc = packets.crc16
        out = BulkDecode()
        out.octets = len(stream)
        L = self.frame_len
        D = self.data_len
        n = len(stream) // L
        if len(stream) % L:
            out.bad_frames += 1  # a trailing partial frame: a length error, as TmFrameReader counts it
        if n == 0:
            return out
        mv = memoryview(stream)
        good = np.fromiter((crc(mv[i:i + L]) == 0 for i in range(0, n * L, L)), dtype=bool, count=n)
        arr = np.frombuffer(stream, dtype=np.uint8, count=n * L).reshape(n, L)
        b0 = arr[:, 0].astype(np.int64)
        b1 = arr[:, 1].astype(np.int64)
        good &= (b0 >> 6) == 0
        good &= (((b0 & 0x3F) << 4) | (b1 >> 4)) == self.scid
        idx = np.nonzero(good)[0]
        out.bad_frames += n - len(idx)
        out.frames = len(idx)
        if not len(idx):
            return out
        vcid = ((b1[idx] >> 1) & 7)
        vcc = arr[idx, 3].astype(np.int64)
        fhp = ((arr[idx, 4].astype(np.int64) & 7) << 8) | arr[idx, 5]
        out.idle_frames = int(np.count_nonzero(fhp == _FHP_IDLE))
        hk_pos: dict[int, list] = {sid: [] for sid in _HK_PLAN}  # SID -> packets (bytes)
        hk_append = {key: hk_pos[sid].append for key, sid in self.hk_keys.items()}
        for v in np.unique(vcid).tolist():
            sel = np.nonzero(vcid == v)[0]
            counts = vcc[sel]
            step = (counts[1:] - counts[:-1]) & 0xFF
            gap = step != 1
            out.vc_gaps += int(((step[gap] - 1) & 0xFF).sum())
            f = fhp[sel]
            bad_fhp = (f != _FHP_NO_PACKET) & (f != _FHP_IDLE) & (f >= D)
            out.fhp_errors += int(np.count_nonzero(bad_fhp))
            # a run ends before a gap and around a frame with an impossible pointer
            brk = np.zeros(len(sel) + 1, dtype=bool)
            brk[0] = brk[-1] = True
            brk[1:-1] = gap
            brk[:-1] |= bad_fhp
            brk[1:] |= bad_fhp
            starts = np.nonzero(brk)[0]
            for a, b in zip(starts[:-1].tolist(), starts[1:].tolist()):
                keep = [k for k in range(a, b) if not bad_fhp[k] and f[k] != _FHP_IDLE]
                if not keep:
                    continue
                rows = idx[sel[keep]]
                blob = arr[rows, 6:6 + D].tobytes()
                self._walk(blob, f[keep].tolist(), D, out, hk_append, crc)
        self._finish_hk(hk_pos, out)
        return out

    def _walk(self, blob, fhps, D, out, hk_append, crc):
        nf = len(fhps)
        end = nf * D
        # synchronise on the first frame with a first header pointer
        k = 0
        while k < nf and fhps[k] == _FHP_NO_PACKET:
            k += 1
        if k == nf:
            return
        pos = k * D + fhps[k]
        next_frame = (k + 1) * D  # first octet of the frame after the one last checked
        get_append = hk_append.get
        records = out.records
        decode = self.dec.decode
        errors = out.errors
        key_of = _HK_KEY.unpack_from
        n_packets = n_idle = 0
        while end - pos >= 6:
            nxt = pos + ((blob[pos + 4] << 8) | blob[pos + 5]) + 7
            bad = -1
            if pos == next_frame:
                # a packet at the very start of frame k: its pointer must be 0, or absent if the
                # packet fills the frame (a continuation), as TmFrameReader accepts
                k = pos // D
                f = fhps[k]
                if f != 0 and not (f == _FHP_NO_PACKET and nxt >= next_frame + D):
                    bad = k
                else:
                    next_frame += D
            if bad < 0 and nxt > next_frame:
                # the packet runs into later frames: those it crosses have no pointer, the one it ends
                # in points just behind it (or has none, if it ends with that frame)
                last = (nxt - 1) // D
                j = next_frame // D
                while j < last and j < nf:
                    if fhps[j] != _FHP_NO_PACKET:
                        bad = j
                        break
                    j += 1
                if bad < 0 and last < nf:
                    want = nxt - last * D if nxt < (last + 1) * D else _FHP_NO_PACKET
                    if fhps[last] != want:
                        bad = last
                if bad < 0:
                    next_frame = (last + 1) * D
            if bad >= 0:  # resynchronise on that frame's pointer, or the next frame's that has one
                out.fhp_errors += 1
                while bad < nf and fhps[bad] == _FHP_NO_PACKET:
                    bad += 1
                if bad == nf:
                    break
                pos = bad * D + fhps[bad]
                next_frame = (bad + 1) * D
                continue
            if nxt > end:
                break  # spans the run's end: lost with the gap (or not yet received)
            if blob[pos + 1] == 0xFF and blob[pos] & 0x07 == 0x07:  # idle APID 0x7FF
                n_idle += 1
                pos = nxt
                continue
            n_packets += 1
            pkt = blob[pos:nxt]
            if nxt - pos >= 22:  # a declared TM[3,25] with a good CRC joins its SID's batch
                append = get_append(key_of(blob, pos))
                if append is not None and crc(pkt) == 0:
                    append(pkt)
                    pos = nxt
                    continue
            try:
                recs = decode(pkt)
            except DecodeError as e:
                errors[e.reason] += 1
            else:
                records.extend(recs)
            pos = nxt
        out.packets += n_packets
        out.idle_packets += n_idle

    def _finish_hk(self, hk_pos, out):
        # gather per SID, in SID order (each parameter belongs to one SID: column order = arrival order)
        cols = {}
        for sid in sorted(hk_pos):
            pkts = hk_pos[sid]
            if not pkts:
                continue
            plan = _HK_PLAN[sid]
            dt = _hk_dtype(sid)
            a = np.frombuffer(b"".join(pkts), dtype=dt)
            # the packet ID and length are in the batch key, the CRC was checked in the walk; the rest of
            # decode_tm's checks (sequence flags are not checked there either):
            ok = ((a["pus"] & 0xF0) == 0x20) & (a["p_field"] == P_FIELD)
            if not ok.all():  # a header check failed: let the packet-by-packet path say why
                for i in np.nonzero(~ok)[0].tolist():
                    try:
                        self.dec.decode(pkts[i])
                    except DecodeError as e:
                        out.errors[e.reason] += 1
                a = a[ok]
            out.hk_packets += len(a)
            if not len(a):
                continue
            days = a["days"].astype(np.int64)
            ms = a["ms_of_day"].astype(np.int64)
            t = (days - CDS_UNIX_EPOCH_DAYS) * 86400.0 + ms / 1000.0
            for name in plan.params:
                raw = a[name].astype(a.dtype[name].newbyteorder("="))
                cols[name] = Column(name, _UNIT[name], t, raw, _calibrate_array(name, raw), plan.apid, days, ms)
        out.columns = cols


def _calibrate_array(name, raw):
    calib = _PARAM[name][5]
    if calib is None:
        return raw
    if calib[0] == "lin":
        return raw.astype(np.float64) * calib[1] + calib[2]
    table = dict(calib[1])
    uniq, inv = np.unique(raw, return_inverse=True)
    texts = np.array([table.get(int(u), "UNKNOWN(%r)" % int(u)) for u in uniq.tolist()], dtype=object)
    return texts[inv.reshape(-1)]
