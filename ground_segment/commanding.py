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
