"""Operator command syntax, from the mission database: ``NAME key=value ...`` to a PUS TC.

Every command of bus/mdb.py is typed by name; its arguments are given as
``key=value`` (decimal, 0x hex, or for enumerated ``on`` arguments ``on``/``off``),
checked against the declared type and range, and packed big-endian after the
function ID of TC[8,1].  Commands without a fixed argument list (TC[11,4]) take
their application data as ``data=HEX``.  Errors are ``CommandError`` with a
one-line reason for the tools to print.

When the payload refuses a command, ``failure_reason`` turns the report's
failure code and argument index, with the command as it was sent, into the
operator's one line: the argument and its declared range, or the parameter and
its settable range, not only the code's text.

Hazardous commands (docs/hazardous_commands.md): ``hazard_reason`` reads the
declaration of bus/mdb.py (COMMANDS field 6) for the arguments given and says
why the command needs arming, or None; a condition on the payload's state
(APT_START near the gimbal's travel) counts as hazardous, the ground cannot see
that state.  ``arm_args`` and ``arm_args_for_packet`` give the HAZ_ARM that arms
exactly one command (APID, service, subtype, function ID, CRC-16 of its
application data), for the operator tools and the pass planner alike.
"""

import struct

from bus import mdb
from bus.pus import ACK_ALL, pack_tc


class CommandError(ValueError):
    """A command the operator typed cannot be built; the message says why."""


def _value(text: str) -> int:
    t = text.strip().lower()
    if t in ("on", "true", "yes"):
        return 1
    if t in ("off", "false", "no"):
        return 0
    try:
        return int(t, 0)
    except ValueError:
        raise CommandError(f"not an integer: {text!r}") from None


def parse_args(tokens: list[str]) -> dict:
    """``["key=value", ...]`` to a dict of strings."""
    out = {}
    for tok in tokens:
        if "=" not in tok:
            raise CommandError(f"argument {tok!r} is not key=value")
        k, v = tok.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def encode(name: str, args: dict) -> tuple[int, int, int, bytes]:
    """(apid, service, subtype, application data) for a declared command."""
    try:
        decl = mdb.command(name.upper())
    except KeyError:
        raise CommandError(f"unknown command {name!r} (see docs/icd.md or 'qsat commands')") from None
    cname, apid, svc, sub, fid, arg_decl, hazardous, _ = decl
    data = b"" if fid is None else bytes([fid])
    given = dict(args)
    if arg_decl is None:
        hexdata = given.pop("data", None)
        if hexdata is None:
            raise CommandError(f"{cname} takes its application data as data=HEX")
        try:
            data += bytes.fromhex(str(hexdata))
        except ValueError:
            raise CommandError(f"{cname}: data is not hexadecimal") from None
    else:
        data += struct.pack(mdb.args_format(arg_decl), *_values(cname, arg_decl, given))
    if given:
        raise CommandError(f"{cname} has no argument {', '.join(sorted(given))}")
    return apid, svc, sub, data


def _unit(unit: str) -> str:
    return " " + unit if unit else ""


def _values(cname: str, arg_decl, given: dict, check: bool = True) -> list[int]:
    """The declared arguments' values, in order, popped from ``given`` (and checked against their ranges)."""
    values = []
    for aname, typ, lo, hi, unit in arg_decl:
        if aname not in given:
            if aname == "n" and lo == hi:  # the count of a one-element list
                values.append(lo)
                continue
            raise CommandError(f"{cname} needs {aname}= ({typ} {lo}..{hi}{_unit(unit)})")
        v = given.pop(aname)
        v = _value(v) if isinstance(v, str) else int(v)
        if check and not lo <= v <= hi:
            raise CommandError(f"{cname}: {aname}={v} outside {lo}..{hi}")
        values.append(v)
    return values


def failure_reason(name: str, args: dict, code: int, arg_index: int | None = None) -> str:
    """One line saying why the payload refused command ``name`` sent with ``args`` (as for ``encode``).

    ``code`` and ``arg_index`` come from the verification failure report
    (``mdb_decode.Verification``; ``arg_index`` None when the report names no
    argument).  FAIL_ARG_RANGE: the argument, the value sent and its declared
    range; FAIL_PARAM_RANGE on PARAM_SET: the value, the parameter and its
    settable range; any other code: its text, and the argument at fault if named.
    """
    from ground_segment.mdb_decode import failure_of

    text = failure_of(code)[1]
    try:
        decl = mdb.command(name.upper())
    except KeyError:
        decl = None
    arg_decl = (decl[5] or ()) if decl is not None else ()
    try:
        values = _values(decl[0], arg_decl, dict(args), check=False) if arg_decl else []
    except (CommandError, TypeError, ValueError):  # not as this database would build it: no values
        values = []
    sent = {a[0]: v for a, v in zip(arg_decl, values)}
    if sent and code == mdb.FAIL_PARAM_RANGE and decl[0] == "PARAM_SET":
        p = mdb.parameter_by_id(sent["pid"])
        if p is not None and p[7] is not None:
            lo, hi = p[7]
            return f"value {sent['value']} of {p[1]} outside the parameter's settable range {lo}..{hi}{_unit(p[3])}"
    if arg_index is None:
        return text
    if arg_index >= len(arg_decl):
        return f"{text} (argument {arg_index})"
    aname, _, lo, hi, unit = arg_decl[arg_index]
    if code == mdb.FAIL_ARG_RANGE:
        value = f"={values[arg_index]}" if values else ""
        return f"argument {aname}{value} outside {lo}..{hi}{_unit(unit)}"
    return f"{text} (argument {aname})"


def build_tc(name: str, args: dict, seq_count: int, ack_flags: int = ACK_ALL, source_id: int = 0) -> bytes:
    apid, svc, sub, data = encode(name, args)
    return pack_tc(apid, seq_count, svc, sub, data, ack_flags, source_id)


def describe(name: str) -> str:
    """One line of usage for a command."""
    decl = mdb.command(name.upper())
    if decl[5] is None:
        usage = "data=HEX"
    else:
        usage = " ".join(f"{a}=<{t} {lo}..{hi}>" for a, t, lo, hi, _ in decl[5] if not (a == "n" and lo == hi))
    return " ".join(p for p in (decl[0], usage, "--", decl[7]) if p)


# -- hazardous commands ------------------------------------------------------------------

def _declared(apid: int, svc: int, sub: int, fid):
    for c in mdb.COMMANDS:
        if c[1] == apid and c[2] == svc and c[3] == sub and c[4] == fid:
            return c
    return None


def _conditions_hold(decl, values: list[int] | None) -> str | None:
    """``"NAME arg=value ..."`` when every hazard condition of ``decl`` holds for ``values`` (state
    conditions do: the ground cannot see the state), None when one does not."""
    cond_decl = decl[6]
    if not cond_decl:
        return None
    names = [a[0] for a in decl[5] or ()]
    words, when = [decl[0]], []
    for cond in (() if cond_decl is True else cond_decl):
        if cond[0] == mdb.HAZ_STATE:
            if cond[1] != "embeds_hazardous":  # that one is checked on the embedded packets themselves
                when.append(cond[2])
            continue
        if values is None:
            continue
        v = values[names.index(cond[0])]
        if not cond[1] <= v <= cond[2]:
            return None
        p = mdb.parameter_by_id(v) if cond[0] == "pid" else None
        words.append(f"{cond[0]}=0x{v:04X} ({p[1]})" if p is not None else f"{cond[0]}={v}")
    return " ".join(words) + "".join(f" (hazardous when {w})" for w in when)


def _embedded_packets(data: bytes):
    """The TC packets a TC[11,4]'s application data embeds (after their release times)."""
    if not data:
        return
    pos = 1
    for _ in range(data[0]):
        p = pos + 7
        if p + 6 > len(data):
            return
        plen = int.from_bytes(data[p + 4:p + 6], "big") + 7
        yield bytes(data[p:p + plen])
        pos = p + plen


def packet_hazard(packet: bytes) -> str | None:
    """Why a built TC packet may be hazardous (``"SRC_MODE mode=4"``, ...), or None."""
    from bus.pus import CRC_LEN, TC_APP_DATA_OFFSET

    if len(packet) < TC_APP_DATA_OFFSET + CRC_LEN:
        return None
    apid = ((packet[0] & 0x07) << 8) | packet[1]
    svc, sub = packet[7], packet[8]
    data = packet[TC_APP_DATA_OFFSET:len(packet) - CRC_LEN]
    fid = data[0] if svc == 8 and data else None
    decl = _declared(apid, svc, sub, fid)
    if decl is None or not decl[6]:
        return None
    if decl[5] is None:  # TC[11,4]: hazardous when an embedded packet is
        inner = [r for r in (packet_hazard(p) for p in _embedded_packets(data)) if r]
        return f"{decl[0]} embedding {', '.join(inner)}" if inner else None
    body = data[1:] if fid is not None else data
    fmt = mdb.args_format(decl[5])
    if len(body) != struct.calcsize(fmt):
        return None  # the payload refuses it for its length
    return _conditions_hold(decl, list(struct.unpack(fmt, body)))


def hazard_reason(name: str, args: dict) -> str | None:
    """One line saying why command ``name`` with ``args`` (as for ``encode``) must be armed, or None."""
    decl = mdb.command(name.upper())
    if not decl[6]:
        return None
    if decl[5] is None:
        what = packet_hazard(build_tc(name, args, 0))
    else:
        what = _conditions_hold(decl, _values(decl[0], decl[5], dict(args), check=False))
    if what is None:
        return None
    if "(hazardous when" in what:
        return what.replace(" (hazardous when", " is hazardous (when", 1)
    return f"{what} is hazardous"


def arm_args_for_packet(packet: bytes) -> dict:
    """HAZ_ARM's arguments arming exactly the TC ``packet``: its APID, service, subtype, function ID
    (TC[8,1]; 0 otherwise) and the CRC-16 of its application data (whatever its sequence count)."""
    from bus.pus import CRC_LEN, TC_APP_DATA_OFFSET
    from ground_segment.frames import crc16

    data = bytes(packet[TC_APP_DATA_OFFSET:len(packet) - CRC_LEN])
    svc = packet[7]
    return {"apid": ((packet[0] & 0x07) << 8) | packet[1], "service": svc, "subtype": packet[8],
            "function": data[0] if svc == 8 and data else 0, "crc": crc16(data)}


def arm_args(name: str, args: dict) -> dict:
    """HAZ_ARM's arguments arming exactly command ``name`` with ``args`` (as for ``encode``)."""
    return arm_args_for_packet(build_tc(name, args, 0))
